"""Two-line element sets: validation with clear errors, and SGP4 satellite records."""

from __future__ import annotations

from sgp4.api import WGS72, Satrec

from satqkd.errors import InputError


def tle_checksum(line: str) -> int:
    """The modulo-10 checksum of a TLE line's first 68 characters (digits, '-' counts 1)."""
    total = 0
    for char in line[:68]:
        if char.isdigit():
            total += int(char)
        elif char == "-":
            total += 1
    return total % 10


def validate_tle(line1: str, line2: str, source: str | None = None) -> None:
    """Raise :class:`InputError` naming the line and the problem if the TLE is malformed.

    Checks the length (69 characters), the line numbers, the checksums, that both lines
    name the same satellite, and that SGP4 accepts the elements.
    """
    for number, line in ((1, line1), (2, line2)):
        field = f"orbit.line{number}"
        text = line.rstrip()
        if len(text) != 69:
            raise InputError(
                f"TLE line {number} must be 69 characters, got {len(text)}",
                source=source, field=field, value=line,
            )
        if text[0] != str(number) or text[1] != " ":
            raise InputError(
                f"TLE line {number} must start with '{number} '",
                source=source, field=field, value=line,
            )
        if not text[68].isdigit() or tle_checksum(text) != int(text[68]):
            raise InputError(
                f"TLE line {number} checksum is {text[68]!r}, computed {tle_checksum(text)}",
                source=source, field=field, value=line,
            )
    if line1[2:7] != line2[2:7]:
        raise InputError(
            f"TLE lines name different satellites ({line1[2:7]!r} vs {line2[2:7]!r})",
            source=source, field="orbit", value=None,
        )
    try:
        sat = Satrec.twoline2rv(line1.rstrip(), line2.rstrip(), WGS72)
    except (ValueError, IndexError) as exc:
        raise InputError(
            f"SGP4 cannot parse the TLE: {exc}", source=source, field="orbit"
        ) from None
    if sat.error != 0:
        raise InputError(f"SGP4 rejects the TLE (error {sat.error})", source=source, field="orbit")


def satrec_from_tle(line1: str, line2: str) -> Satrec:
    """A validated SGP4 record (WGS-72 constants, as TLEs are fitted with)."""
    validate_tle(line1, line2)
    return Satrec.twoline2rv(line1.rstrip(), line2.rstrip(), WGS72)
