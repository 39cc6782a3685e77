"""Sleep-stage codes and names shared by every module.

skdreamy follows the AASM five-stage scheme. Integer codes are the canonical
form on disk and inside the pipeline; the names are used in reports.
"""

STAGE_NAMES = ("W", "N1", "N2", "N3", "REM")
"""Stage names, indexed by their integer code (0=W ... 4=REM)."""

STAGE_CODES = {name: code for code, name in enumerate(STAGE_NAMES)}
"""Mapping from stage name to integer code."""


def stage_name(label):
    """Return the stage name of an integer code or a stage name.

    Labels that are not one of the five stages are returned as ``str(label)``,
    so reports still work on user-defined label sets.

    Examples
    --------
    >>> from skdreamy._stages import stage_name
    >>> stage_name(4), stage_name("N2"), stage_name(7)
    ('REM', 'N2', '7')
    """
    try:
        code = int(label)
    except (TypeError, ValueError):
        return str(label)
    if code == label and 0 <= code < len(STAGE_NAMES):
        return STAGE_NAMES[code]
    return str(label)
