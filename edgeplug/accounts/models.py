"""The user model: email is the login; there is no username. An email is stored stripped and
lowercased, its domain in Unicode in its standard form (UTS #46), and is unique regardless
of case (a database constraint), whichever door writes it; it is judged as it is stored
(``EmailAddressField``)."""

import string

import idna
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

DUPLICATE_EMAIL = "A user with this email already exists."

# Django's email validator takes a local part of ASCII letters in either case, digits and
# !#$%&'*+-/=?^_`{|}~. and, as the regex it matches ignores case, four other letters: the
# capital dotted İ and the dotless i (U+0131) read as i, the long s (U+017F) as s, the Kelvin
# sign (U+212A) as k. A local part is stored as the validator reads it, in lowercase ASCII:
# one spelling of one mailbox, as long as typed. (``str.lower()`` made İ an i and a combining
# dot: longer, and refused by the same validator once stored.)
_LOCAL_PART_AS_READ = str.maketrans(
    string.ascii_uppercase + "\u0130\u0131\u017f\u212a", string.ascii_lowercase + "iisk"
)


def _domain_in_standard_form(domain: str) -> str:
    """A domain mapped by UTS #46 (non-transitional: ß stays ß), as a browser's email field
    maps it: lowercase, composed (NFC), fullwidth letters as ASCII ones, and in Unicode
    (``bücher.example``, never its punycode ``xn--bcher-kva.example``, which is what a
    browser sends). A domain IDNA does not take (an address literal, a bad punycode label) is
    only lowercased: the email validator judges it."""
    try:
        return idna.decode(idna.encode(domain, uts46=True))
    except UnicodeError:  # idna.IDNAError is one
        return domain.lower()


def normalize_email(email: str) -> str:
    """The one spelling of an address, as a person types and reads it: no surrounding
    blanks, the local part lowercased as the validator reads it (in ASCII), the domain in its
    standard form (``_domain_in_standard_form``): one mailbox, one spelling, however the
    domain was typed, sent or pasted. The spelling may be longer than the address typed, or
    one the validator refuses: ``EmailAddressField`` judges it as stored."""
    local, at, domain = email.strip().rpartition("@")
    return local.translate(_LOCAL_PART_AS_READ) + at + _domain_in_standard_form(domain)


class EmailAddressField(models.EmailField):
    """An email address judged as it is stored: cleaning it (a form, ``manage.py adduser``'s
    ``field_argument``, ``full_clean``) gives ``normalize_email``'s spelling, which the blank
    check, the length limit and the email validator then judge, so no door stores an address
    that its column cannot hold or that its own admin page would refuse."""

    # Not to_python: CharField prepares every query value and saved value with it, which
    # would respell lookups (a search, a pattern) as well.
    def clean(self, value, model_instance):
        if isinstance(value, str):
            value = normalize_email(value)
        return super().clean(value, model_instance)

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        # Said as stored: the address typed may be shorter (max_length's own message would
        # give a length the person never typed).
        if value and len(value) > self.max_length:
            raise ValidationError(
                "As stored (lowercase, its domain in Unicode) this address has %(length)d "
                "characters: at most %(limit)d fit.",
                code="max_length",
                params={"length": len(value), "limit": self.max_length},
            )


class EmailUserManager(UserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def with_email(self, email: str):
        """The user of an address however it is spelt: stored addresses are normalised
        (``normalize_email``, migration 0002), so an exact match is the rule."""
        return self.filter(email=normalize_email(email))

    def get_by_natural_key(self, username):
        return self.with_email(username).get()


class User(AbstractBaseUser, PermissionsMixin):
    email = EmailAddressField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    # Labelled as Django's own user model labels them (the admin's page, docs/roles.md).
    is_staff = models.BooleanField(
        "staff status",
        default=False,
        help_text="May sign in to the admin site (with TOTP); its groups say what they may do.",
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Untick instead of deleting: a deactivated user can no longer sign in, "
        "and their next API request is refused.",
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = EmailUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_unique_regardless_of_case",
                violation_error_message=DUPLICATE_EMAIL,
            )
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email or "")
        # A field error (forms show it beside the email); the constraint alone would give a
        # form-wide one. A field with an error is not checked against the constraints again.
        taken = User.objects.with_email(self.email).exclude(pk=self.pk)
        if self.email and taken.exists():
            raise ValidationError({"email": ValidationError(DUPLICATE_EMAIL, code="unique")})

    def save(self, *args, **kwargs):
        if self.email:
            self.email = normalize_email(self.email)
        super().save(*args, **kwargs)
