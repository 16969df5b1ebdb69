"""Date formats for German (see config/formats/en_GB): "1. Dez. 2026", "01.12.2026 18:30"."""

DATE_FORMAT = "j. N Y"  # 1. Dez. 2026
DATETIME_FORMAT = "j. N Y, H:i"  # 1. Dez. 2026, 18:30
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j. N"  # 1. Dez.
YEAR_MONTH_FORMAT = "F Y"  # Dezember 2026
SHORT_DATE_FORMAT = "d.m.Y"  # 01.12.2026
SHORT_DATETIME_FORMAT = "d.m.Y H:i"  # 01.12.2026 18:30
