"""How the organisation numbers things people quote: a request's tracking code and a member's
engineering-system number."""
from __future__ import annotations


def tracking_code(jalali_year: int, province_id: int, request_id: int) -> str:
    """YY PP NNNNNNNN: the Jalali year of submission (Tehran), the province, the request's number."""
    return f"{jalali_year % 100:02d}{province_id:02d}{request_id:08d}"


def membership_number(province_id: int, sequence: int) -> str:
    """The number the head assigns at admission: province, then the national sequence."""
    return f"{province_id:02d}-{sequence:07d}"
