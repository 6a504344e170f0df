"""The registry offices that issue Iranian national IDs: the first three digits of a national ID
(کد ملی) name the civil-registration office (اداره ثبت احوال) that issued it, and so the province of
that office. Data only; `domain.national_id.birth_province` reads it.

Source: the community table of issuing-office codes in persian-tools, `py-persian-tools`
(`persian_tools/national_id/places_code.py`, MIT licence, commit 9cf6ac3), which agrees with
`rust-persian-tools` (`src/get_place_by_iran_national_id/places.rs`). No table published by the
National Organization for Civil Registration (سازمان ثبت احوال کشور) was found, so this is not an
authoritative list: a prefix missing here is unknown, and the screens then keep the free choice.
Changes from the source, each checked against the city's province:
- Karaj (031, 032), Savojbolagh (489), Taleghan (695) and Nazarabad (717) are listed under Tehran,
  their province before Alborz was made one (1389); they are Alborz's here.
- The source's last rows put Zanjan (427, 428), Abhar and Khorramdarreh (615) under Isfahan: they are
  Zanjan's; Malekan (507), Marand (158) and Mianeh (152, 153), also under Isfahan there, are East
  Azarbaijan's.
- The foreign-affairs office (471, 472: IDs issued abroad) names no province and is left out.
- Prefixes the source gives to two provinces (`AMBIGUOUS_PREFIXES`) are left out: unknown.
"""
from __future__ import annotations

# Province id (domain.reference.PROVINCES) -> its offices' prefixes, separated by spaces.
PREFIXES_BY_PROVINCE: dict[int, str] = {
    1: (  # آذربایجان شرقی
        "136 137 138 149 150 152 153 154 155 158 159 160 164 165 168 169 170 171 172 173 505 506 507 519 "
        "545 567 604 636"
    ),
    2: (  # آذربایجان غربی
        "274 275 279 280 282 283 284 285 286 287 289 290 291 292 293 294 295 296 297 492 493 637 638 640 "
        "675 677"
    ),
    3: (  # اردبیل
        "145 146 161 162 163 166 167 504 566 601 603 686 690 714 715 731"
    ),
    4: (  # اصفهان
        "108 109 110 111 112 113 114 115 116 117 118 119 120 121 122 123 124 125 126 127 128 129 510 511 "
        "512 540 541 549 564 565 575 619 620 621 622 660"
    ),
    5: (  # البرز
        "031 032 489 695 717"
    ),
    6: (  # ایلام
        "449 450 451 452 453 454 455 534 581 616 634 726 727"
    ),
    7: (  # بوشهر
        "349 350 351 352 353 354 355 356 357 529 532 609 610 732"
    ),
    8: (  # تهران
        "001 002 003 004 005 006 007 008 011 015 020 025 041 042 043 044 045 048 049 490 491 556 658 659 "
        "664 666"
    ),
    9: (  # چهارمحال و بختیاری
        "461 462 465 466 467 468 555 629 632 633 696"
    ),
    10: (  # خراسان جنوبی
        "064 065 085 088 523 563 652 716 719 721"
    ),
    11: (  # خراسان رضوی
        "069 070 072 073 074 076 077 078 079 081 084 086 087 089 090 091 092 093 094 096 097 098 105 106 "
        "521 522 553 562 572 573 574 643 644 650 651 724"
    ),
    12: (  # خراسان شمالی
        "063 067 068 075 082 524 591"
    ),
    13: (  # خوزستان
        "174 175 181 182 183 184 185 186 187 188 189 190 191 192 193 194 195 196 197 198 199 200 481 526 "
        "527 585 661 662 663 680 685 692 706 707 729 730"
    ),
    14: (  # زنجان
        "427 428 615"
    ),
    15: (  # سمنان
        "456 457 458 459 460 520 530 642 684 700"
    ),
    16: (  # سیستان و بلوچستان
        "358 359 361 362 364 365 366 367 369 370 371 525 533 597 611 668 669 682 699 701 703 704 705 720 "
        "725"
    ),
    17: (  # فارس
        "228 229 230 236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 255 256 257 "
        "513 514 515 546 547 548 648 649 654 655 656 657 665 670 671 673 678 679 681 683 723"
    ),
    18: (  # قزوین
        "431 432 438 439 508 509 538 559 580 588 590 728"
    ),
    19: (  # قم
        "037 038 702"
    ),
    20: (  # کردستان
        "372 373 375 376 377 378 379 380 381 383 384 558 646 674 676"
    ),
    21: (  # کرمان
        "298 299 302 303 304 305 306 307 308 309 310 311 312 313 314 315 316 317 318 319 320 321 535 536 "
        "542 583 605 606 607 608 698 722"
    ),
    22: (  # کرمانشاه
        "322 323 324 325 330 331 332 333 334 335 336 394 496 595 596 641 691"
    ),
    23: (  # کهگیلویه و بویراحمد
        "422 423 424 425 426 550 599 600 687 688 697"
    ),
    24: (  # گلستان
        "202 203 211 212 223 224 226 487 497 531 628 689"
    ),
    25: (  # گیلان
        "258 259 261 262 263 264 265 266 267 268 269 270 271 272 273 516 517 518 569 570 630 631 653 693 "
        "694"
    ),
    26: (  # لرستان
        "406 407 412 413 416 417 418 419 420 421 484 528 557 592 598 612 613"
    ),
    27: (  # مازندران
        "205 206 208 209 213 214 215 216 217 218 219 220 221 222 225 227 498 499 500 501 568 576 577 578 "
        "579 582 625 626 627 711 712 713"
    ),
    28: (  # مرکزی
        "051 052 053 055 056 057 058 059 060 061 062 544 571 617 618"
    ),
    29: (  # هرمزگان
        "338 339 341 342 343 344 345 346 348 469 470 537 554 586 667"
    ),
    30: (  # همدان
        "387 392 393 396 397 398 399 400 401 402 403 404 405 502 584 647"
    ),
    31: (  # یزد
        "083 442 443 444 445 446 447 448 503 543 551 552 561 718"
    ),
}

# Prefixes the source assigns to two provinces at once (for example 623: Sufian in East Azarbaijan
# and Azadshahr in Golestan); without a better source they are unknown.
AMBIGUOUS_PREFIXES: frozenset[str] = frozenset("288 337 382 385 386 395 483 593 623 635".split())
