"""What a request carries besides its history: the type's own data fields and its documents,
with the verdicts of whoever reviewed them."""
from __future__ import annotations

from datetime import timedelta

from demo.people import CITIES_FA, COMPETENCY_JSON, PERSIAN_NUMBERS, STREETS_FA, competencies
from demo.context import JALALI
from demo.rows import NULL, wall_date
from domain.identifiers import membership_number
from domain.reference import DOCUMENT_TYPES_FA, PROVINCES

DOCUMENT_REJECT_REASONS_FA = ("تصویر ناخوانا است.", "مدرک منقضی شده است.", "مدرک با اطلاعات ثبت‌شده مطابقت ندارد.")

# Documents each request type carries, most important first: (doc type, required).
REQUEST_DOCUMENTS = {
    "new_membership": (("national_card", True), ("birth_certificate", True), ("degree", True), ("photo", True)),
    "legacy_registration": (("old_card", True), ("national_card", True), ("degree", True), ("birth_certificate", True)),
    "membership_renewal": (("self_declaration", True), ("national_card", True), ("payment_receipt", False)),
    "transfer": (("self_declaration", True), ("national_card", True), ("official_lease", False), ("other", False)),
    "card_reissue": (("photo", True), ("national_card", True), ("other", False)),
    "rating": (("work_record", True), ("training_certificate", True), ("self_declaration", False), ("other", False)),
    "rating_registration": (("rating_certificate", True), ("old_licence", True), ("national_card", False)),
    "rating_correction": (("rating_certificate", True), ("old_licence", True)),
    "licence_issue": (("work_record", True), ("training_certificate", True), ("degree", True), ("photo", False)),
    "licence_renewal": (("old_licence", True), ("training_certificate", True), ("work_record", False)),
    "article32_renewal": (("old_licence", True), ("national_card", True), ("photo", False)),
}
_IMAGE_DOCS = frozenset({"photo", "national_card", "birth_certificate", "old_card"})
_PDF_FOR_DOC = {"degree": "pdf-degree", "work_record": "pdf-work_record",
                "training_certificate": "pdf-training_certificate", "old_licence": "pdf-licence",
                "rating_certificate": "pdf-rating_certificate"}


class RequestContents:
    """The data and documents of a chunk's requests (a mixin of the chunk builder: `ctx`, `rng`,
    `members`, `out`, the quick draws)."""

    def _request_data(self, spec, submitted: int) -> tuple[str, dict]:
        """The type's own fields (`Process.data_fields`), as JSON (`submitted` is a wall time), and
        as the dict that JSON parses to (what the submission and the effects read: made here, not
        parsed back from the text)."""
        rng, m, i = self.rng, self.members, spec.member
        t = spec.type_code
        if t == "legacy_registration":
            year = m.valid_year[i] or 1390
            number = m.number[i] or membership_number(m.pid[i], m.ids[i])
            until = JALALI.ends[year].isoformat()
            return (f"{{\"old_membership_no\":\"{number}\",\"old_valid_until\":\"{until}\"}}",
                    {"old_membership_no": number, "old_valid_until": until})
        if t in ("membership_renewal", "licence_renewal", "article32_renewal"):
            years = self.between(1, 3)
            return f"{{\"renewal_years\":{years}}}", {"renewal_years": years}
        if t == "transfer":
            dest = self.between(1, len(PROVINCES) - 1)
            dest += dest >= m.pid[i]  # any province but the member's own
            plaque = PERSIAN_NUMBERS[self.between(1, 300)]
            address = f"{CITIES_FA[dest][0][0]}، {self.pick(STREETS_FA)}، پلاک {plaque}"
            return (f"{{\"destination_province\":{dest},\"destination_address\":\"{address}\"}}",
                    {"destination_province": dest, "destination_address": address})
        if t == "rating":
            kind = "consultant" if rng.random() < 0.5 else "contractor"
            rank = self.between(1, 2) if spec.top_rank else self.between(3, 5)  # the plan chose the path
            return (f"{{\"rating_kind\":\"{kind}\",\"requested_rank\":{rank}}}",
                    {"rating_kind": kind, "requested_rank": rank})
        if t in ("rating_registration", "rating_correction"):
            kind = "consultant" if rng.random() < 0.5 else "contractor"
            expiry = (wall_date(submitted) + timedelta(days=self.between(60, 1000))).isoformat()
            rank = self.between(1, 5)
            return (f"{{\"rating_kind\":\"{kind}\",\"rank\":{rank},\"licence_expiry\":\"{expiry}\"}}",
                    {"rating_kind": kind, "rank": rank, "licence_expiry": expiry})
        if t == "licence_issue":
            chosen = competencies(self.rng)
            return f"{{\"competencies\":{COMPETENCY_JSON[chosen]}}}", {"competencies": list(chosen)}
        return "{}", {}


    def _document_choices(self, type_code: str) -> tuple:
        """Per document a request of the type can carry: whether it is always an image, and its
        columns doc_type .. required with each of the 12 demo images and with its fitting PDF (an
        image for identity papers, a fitting PDF or a scanned image for the rest). Cached per chunk."""
        choices = self._doc_columns.get(type_code)
        if choices is None:
            files = self.ctx.files

            def columns(doc_type: str, key: str, required: bool) -> str:
                f = files[key]
                return (f"{doc_type}\t{DOCUMENT_TYPES_FA[doc_type]}\t{NULL}\t{doc_type}.{f.extension}\t{f.mime}\t"
                        f"{len(f.content)}\t{f.sha256}\t{'t' if required else 'f'}")

            choices = self._doc_columns[type_code] = tuple(
                (doc_type in _IMAGE_DOCS, [columns(doc_type, f"image-{k}", required) for k in range(12)],
                 columns(doc_type, _PDF_FOR_DOC.get(doc_type, "pdf-form"), required))
                for doc_type, required in REQUEST_DOCUMENTS[type_code])
        return choices

    def _request_documents(self, rid: int, spec, mid: int, uploaded: str,
                           reviewer: tuple | None, rejected: tuple | None) -> None:
        """2-4 documents: pending until someone reviewed them; the last one rejected (with a
        reason) when the request was rejected or returned, the others accepted. `reviewer` and
        `rejected` are (actor, time text)."""
        random = self._random
        wanted = self._document_choices(spec.type_code)
        r = random()
        n = min(len(wanted), 2 if r < 0.5 else 3 if r < 0.85 else 4)
        out = self.out["document"]
        who = reviewer or rejected
        if who is not None:
            verdict = f"accepted\t{NULL}\t{who[0]}\t{who[1]}"
        else:
            verdict = f"pending\t{NULL}\t{NULL}\t{NULL}"
        head = f"{mid}\t{rid}\t"
        tail = f"\t{uploaded}\t{verdict}\n"
        for k in range(n):
            always_image, images, pdf = wanted[k]
            if rejected is not None and k == n - 1:
                reason = self.pick(DOCUMENT_REJECT_REASONS_FA)
                tail = f"\t{uploaded}\trejected\t{reason}\t{rejected[0]}\t{rejected[1]}\n"
            columns = images[int(random() * 12)] if always_image or random() < 0.25 else pdf
            out.append(head + columns + tail)

