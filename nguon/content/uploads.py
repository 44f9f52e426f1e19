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
        if content_length and content_length > self.limit + 64 * 1024:
            self.request.upload_too_large = True
            raise UploadTooLarge(connection_reset=True)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request.upload_too_large = True
            raise UploadTooLarge(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
