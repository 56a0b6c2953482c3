"""The portal's forms: they parse and label input; the actions they feed decide."""

import codecs

from django import forms

from certification.models import Level
from edgeplug.accounts.widgets import OneTimeCodeInput
from edgeplug.tenancy.models import Role
from marketplace.models import AgentVersion, Review, VendorKey
from marketplace.reviews import review_fingerprint


class SignInForm(forms.Form):
    # The API's ``tenant`` (``TenantRequired``, ``UnknownTenant``) is this form's vendor.
    refusal_fields = {"tenant": "vendor"}

    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    otp = forms.CharField(
        label="Authentication code",
        required=False,
        max_length=10,
        help_text="The 6-digit code from your authenticator app, if you have enrolled one.",
        widget=OneTimeCodeInput(),
    )
    vendor = forms.CharField(
        label="Vendor account",
        required=False,
        max_length=200,
        help_text="Only if you belong to several vendors: its name (Acme Robotics) or short "
        "name (acme-robotics).",
    )


class TotpConfirmForm(forms.Form):
    otp = forms.CharField(
        label="Code from your authenticator app",
        max_length=10,
        widget=OneTimeCodeInput(attrs={"autofocus": True}),
    )


UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


# Far more than any public key file (`edgeplug keygen`'s three lines, a PEM block, UTF-16).
KEY_FILE_MAX = 4096


def _key_file_bytes(upload) -> bytes:
    """The uploaded file, refused when larger than a public key file can be: only so much is
    read, and a key past the cut would go unseen (or the cut split a character)."""
    raw = upload.read(KEY_FILE_MAX + 1)
    if len(raw) > KEY_FILE_MAX:
        raise forms.ValidationError(
            "That file is larger than a public key file (4 KiB): upload the file holding the "
            "public key that `edgeplug keygen` printed, or paste the key."
        )
    return raw


def _key_file_text(raw: bytes) -> str:
    """An uploaded key file's text: UTF-8, or UTF-16 when it starts with that byte order mark
    (PowerShell 5.1's ``>`` and Notepad's "Unicode" write it). A byte order mark (Notepad's
    "UTF-8" writes one too) is not part of the key."""
    encoding = "utf-16" if raw.startswith(UTF16_BOMS) else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise forms.ValidationError(
            "That file is not UTF-8 text, so it cannot hold a base64 public key: save it as "
            "UTF-8, or paste the key."
        ) from exc


class KeyForm(forms.Form):
    # The length is the action's rule (register_key: key_name_too_long, as the API answers);
    # maxlength only lets the browser say it first.
    name = forms.CharField(
        label="Name",
        required=False,
        help_text="e.g. release laptop",
        widget=forms.TextInput(attrs={"maxlength": VendorKey._meta.get_field("name").max_length}),
    )
    public_key = forms.CharField(
        label="Public key",
        required=False,
        help_text="What `edgeplug keygen` printed (its “public key:” line is enough).",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    public_key_file = forms.FileField(
        label="…or upload a file holding the public key", required=False
    )

    def clean(self):
        data = super().clean()
        text = (data.get("public_key") or "").strip()
        upload = data.get("public_key_file")
        if upload is not None and text:
            raise forms.ValidationError("Paste the public key or upload its file, not both.")
        if upload is not None:
            text = _key_file_text(_key_file_bytes(upload))
        # `edgeplug keygen` prints three lines; its "public key:" line may be pasted whole.
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        for line in lines:
            if line.lower().startswith("public key:"):
                text = line.split(":", 1)[1].strip()
                break
        else:
            text = lines[0] if len(lines) == 1 else text
        # Neither pasted nor uploaded: register_key refuses it (public_key_required), as the
        # API answers a body without one.
        data["public_key"] = text
        return data

    def forget_public_key(self) -> None:
        """The page shown again leaves the text area empty (it held a private key)."""
        self.data = self.data.copy()
        self.data["public_key"] = ""


class UploadForm(forms.Form):
    package = forms.FileField(label="Agent package (.epk)")
    signature = forms.FileField(label="Signature (.sig)")
    # Picked from the vendor's active keys, but any key id reaches upload_package, which
    # answers one that names no key of the vendor (unknown_key) or a revoked one
    # (key_revoked) as the API does; blank means the key that made the signature.
    key_id = forms.CharField(label="Signing key", required=False, widget=forms.Select)
    level = forms.ChoiceField(
        label="Certification level",
        choices=Level.choices,
        initial=Level.BASIC,
        help_text="Basic: validation, safety invariants, performance. Standard: also the "
        "security scan. Hardware: also the firmware on an emulated board.",
    )
    certify = forms.BooleanField(label="Submit for certification", required=False, initial=True)

    def __init__(self, *args, keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key_id"].widget.choices = [("", "the key that made the signature")] + [
            (k.key_id, f"{k.name or 'key'} ({k.key_id})") for k in keys
        ]


class TextareaField(forms.CharField):
    """Text typed in a textarea, with its line breaks as the browser counted them: a browser
    submits each one as CRLF, two characters, but counts it as one against ``maxlength``."""

    def to_python(self, value):
        return super().to_python(value).replace("\r\n", "\n")


class YankForm(forms.Form):
    # Blank and length are the action's rules (yank_version: reason_required, reason_too_long,
    # as every door answers); maxlength only lets the browser say it first.
    reason = TextareaField(
        label="Why are you yanking this version?",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 2, "maxlength": AgentVersion._meta.get_field("yank_reason").max_length}
        ),
    )


class ReplyForm(forms.Form):
    """The vendor's reply to one review, its fields named for it (a page holds one per
    review). Blank and length are the action's rules (reply_to_review: reply_required,
    reply_too_long, as the API answers); maxlength only lets the browser say it first."""

    # What the review said as the page showed it (``reviews.review_fingerprint``): a reply
    # to a review rewritten since is refused (review_changed), not set under words unread.
    seen = forms.CharField(widget=forms.HiddenInput, required=False)
    text = TextareaField(
        label="Your reply",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "maxlength": Review._meta.get_field("vendor_reply").max_length}
        ),
    )

    def __init__(self, *args, review: Review, **kwargs):
        super().__init__(
            *args,
            prefix=f"review-{review.pk}",
            initial={"seen": review_fingerprint(review)},
            **kwargs,
        )
        self.review = review
        self.fields["text"].label = f"Your reply to {review.tenant.name}"


class CertifyForm(forms.Form):
    level = forms.ChoiceField(label="Level", choices=Level.choices, initial=Level.BASIC)


class WpkForm(forms.Form):
    document = forms.FileField(
        label="Workflow package (.wpk.json)",
        help_text='JSON: {"name", "version", "content", "signature", "key_id"}.',
    )


class MemberForm(forms.Form):
    email = forms.EmailField(label="Email of an existing EdgePlug account")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.DEVELOPER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)
