"""The parser of usage batches: a well-formed batch goes from the body's bytes straight to
events (``billing.usage_format.decode_batch``, a compiled decoder); anything else is read as
any JSON body is and left to ``parse_batch`` to refuse, so both give the same answers."""

from rest_framework.parsers import get_encoding

from billing.usage_format import EventIn, decode_batch
from edgeplug.core.parsers import BoundedJSONParser, may_hold_unstorable


class DecodedBatch(list[EventIn]):
    """Events already decoded and checked by the parser."""


class UsageBatchParser(BoundedJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = self.read_body(stream, parser_context)
        if not may_hold_unstorable(body, get_encoding(parser_context or {})):
            events = decode_batch(body)
            if events is not None:
                return DecodedBatch(events)
        return self.parse_body(body, media_type, parser_context)
