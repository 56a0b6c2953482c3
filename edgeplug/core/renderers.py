"""API views that answer something else than JSON on success (a file, CSV) and their errors
as ``{"code", "detail"}`` JSON, like every other error under /api/v1/."""

from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response


class JsonErrorsMixin:
    """Any error a view answers through DRF (an exception turned into its body by the API's
    handler, or a refusal it returns, such as ``403 not_entitled``) is rendered as JSON, whatever
    renderer the request's ``Accept`` header, ``?format=`` or ``.csv`` suffix chose; so is the
    answer to OPTIONS (the view's description, which no file or CSV renderer can write)."""

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and (
            response.status_code >= 400 or request.method == "OPTIONS"
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class FileRenderer(BaseRenderer):
    """The media type of a file a view answers with its own ``HttpResponse``/``FileResponse``:
    listed in the view's ``renderer_classes`` so that content negotiation accepts
    ``Accept: <that type>`` instead of answering 406. DRF renders only the view's errors, and
    ``JsonErrorsMixin`` renders those as JSON: this renderer has nothing to render."""

    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        raise TypeError(
            f"{type(self).__name__}: the view answers {self.media_type} with its own response; "
            "a view using it must use JsonErrorsMixin too."
        )


class OctetStreamRenderer(FileRenderer):
    media_type = "application/octet-stream"
    format = "bin"


class ZipRenderer(FileRenderer):
    media_type = "application/zip"
    format = "zip"


class PdfRenderer(FileRenderer):
    media_type = "application/pdf"
    format = "pdf"
