"""Serves pycsw's WSGI application on 127.0.0.1 only (pycsw's own runner
binds every interface). Usage: pycsw_serve.py CONFIG PORT. One request at
a time: the catalogue is a SQLite file."""
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

os.environ["PYCSW_CONFIG"] = sys.argv[1]

from pycsw import wsgi  # noqa: E402  (reads PYCSW_CONFIG per request)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


make_server("127.0.0.1", int(sys.argv[2]), wsgi.application, handler_class=QuietHandler).serve_forever()
