"""Refuse oversized uploads while they stream in, before they fill the disk."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class UploadTooLarge(StopUpload):
    pass


class MaxSizeUploadHandler(FileUploadHandler):
    """Stops reading the request once it exceeds NGUON_MAX_UPLOAD_MB and marks the request, so the view can say so."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit = settings.MAX_UPLOAD_BYTES
        self.received = 0
        # Too large by its declared length: stop at the first chunk of a file. StopUpload must not be raised here:
        # Django's parser catches it only while reading the parts, so from here it would end in a server error.
        self.too_large = bool(content_length and content_length > self.limit + 64 * 1024)
        if self.too_large:
            self.request.upload_too_large = True

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.too_large or self.received > self.limit:
            self.request.upload_too_large = True
            raise UploadTooLarge(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
