"""Date formats for British English, named so templates say which kind of date they show
(`date:"SHORT_DATETIME_FORMAT"`) and German gets its own (config/formats/de)."""

DATE_FORMAT = "j M Y"  # 1 Dec 2026
DATETIME_FORMAT = "j M Y, H:i"  # 1 Dec 2026, 18:30
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"  # 1 Dec
YEAR_MONTH_FORMAT = "F Y"  # December 2026
SHORT_DATE_FORMAT = "Y-m-d"  # 2026-12-01
SHORT_DATETIME_FORMAT = "Y-m-d H:i"  # 2026-12-01 18:30
