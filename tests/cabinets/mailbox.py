"""The letters in the mail sink, as a person would open them."""

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from cabinets.notifications.mail import mail_sink
from tenancy.settings import Settings


def letters(settings: Settings) -> list[EmailMessage]:
    found = []
    for path in sorted(mail_sink(settings).glob("*.eml")):
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found
