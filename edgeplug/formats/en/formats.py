"""Date-times as the admin and Django's templates print them: English, and always with the
zone (every stored time is UTC, ``TIME_ZONE``), so a reviewer or finance reading a page in
another time zone never takes 09:00 UTC for their own 09:00. Django's English formats
otherwise."""

from django.conf.locale.en.formats import *  # noqa: F403 - the rest as Django has them

DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
