"""Static files of the server's own pages (GraphiQL, the console): never sniffed, cached as each page says."""

from __future__ import annotations

import os
from os import PathLike

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ucs_graphql.web.pageheaders import NOSNIFF


class PageAssets(StaticFiles):
    """A page's scripts and styles from a package directory, with `cache_control` on every file."""

    def __init__(self, directory: str | PathLike[str], cache_control: str) -> None:
        super().__init__(directory=directory)
        self.cache_control = cache_control

    def file_response(self, full_path: PathLike[str] | str, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = self.cache_control
        response.headers["X-Content-Type-Options"] = NOSNIFF
        return response
