"""`python -m demo`: load realistic demo data (staff, members, requests with their whole history).

    python -m demo                         # 3,000 requests, about 1,500 members
    python -m demo --scale million         # 1,000,000 requests, 400,000 members
    python -m demo --requests 20000 --members 8000 --seed 7 --if-empty

Every request's history is a replay of `domain.machine.decide`: the loader chooses at random what
happens (which stage a request ends at, who acts, how long each step takes) and the rules say
what follows, exactly as the services apply it. The modules, by what they hold:

* `demo.people`: staff accounts, members and their rows (names, places, contacts, licences...);
* `demo.plan`: the random plan of each request, its path (`domain.machine.path`) and its timeline
  on the province's `BusinessCalendar`;
* `demo.histories`: the replay through `decide` and the effects' bulk handlers;
* `demo.documents`: a request's own data fields and documents;
* `demo.rows`: COPY text; `demo.context`: what every chunk reads; `demo.chunk`: one chunk;
* `demo.load`: reference rows, chunks in forked workers, COPY, index rebuilds, the command line;
* `demo.files`: the PNG and PDF files the documents point at.

The package may import `domain` and `db`, never `logic`, `ui` or `pages`.
"""
from demo.context import JALALI, TARIFF_YEARS, tariff_for
from demo.load import DEFAULT_REQUESTS, DEFAULT_SEED, SCALES, keep_freed_memory, load_demo, main
from demo.people import DEMO_ACCOUNTS, DEMO_PASSWORD, national_id_for
from demo.rows import BULK_TABLES

__all__ = ["BULK_TABLES", "DEFAULT_REQUESTS", "DEFAULT_SEED", "DEMO_ACCOUNTS", "DEMO_PASSWORD", "JALALI", "SCALES",
           "TARIFF_YEARS", "keep_freed_memory", "load_demo", "main", "national_id_for", "tariff_for"]
