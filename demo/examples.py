"""What a member declares with a request of each type (`Process.data_fields`), valid for the rules:
the one example the benchmarks and the tests file, where the loader draws its own at random
(`demo.documents`)."""
from __future__ import annotations

from domain.reference import ISFAHAN_ID, TEHRAN_ID


def example_data(type_code: str, province_id: int, member_id: int) -> dict:
    """A request's data for a member of `province_id` (a transfer goes to another province)."""
    return {
        "legacy_registration": {"old_membership_no": f"{province_id:02d}-0-{member_id:06d}",
                                "old_valid_until": "2027-03-20"},
        "membership_renewal": {"renewal_years": 1},
        "transfer": {"destination_province": ISFAHAN_ID if province_id != ISFAHAN_ID else TEHRAN_ID,
                     "destination_address": "خیابان آزادی، پلاک ۱۲"},
        "rating": {"rating_kind": "consultant", "requested_rank": 3},
        "rating_registration": {"rank": 3, "licence_expiry": "2028-01-01"},
        "licence_issue": {"competencies": ["design", "supervision"]},
        "licence_renewal": {"renewal_years": 1},
        "article32_renewal": {"renewal_years": 1},
    }.get(type_code, {})
