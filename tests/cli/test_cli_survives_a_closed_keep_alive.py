"""The CLI's GETs survive a server closing an idle kept-alive connection as the next request
leaves (gunicorn's keep-alive is 2 s, the watch polls every 2 s): ``status --watch`` ended
in ``server_unreachable`` against a healthy server after a minute or two (found by a review).
The server here answers the first request of each connection and closes it on the next,
unanswered, as a server does whose keep-alive ran out while that request travelled."""

import json
import socket
import threading

import pytest

from marketplace.cli.api import ApiClient
from marketplace.cli.errors import CliError


class OneAnswerPerConnection:
    """An HTTP/1.1 server that answers the first request of each connection (keep-alive, as
    far as the client can tell) and closes the connection when the next one arrives."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.connections += 1
                conn.recv(65536)
                body = json.dumps({"connection": self.connections}).encode()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                )
                conn.sendall(head.encode() + body)
                conn.recv(65536)  # the next request: closed unanswered


@pytest.fixture
def server():
    server = OneAnswerPerConnection()
    yield server
    server.sock.close()


def test_a_get_on_a_connection_the_server_closed_is_sent_again_on_a_new_one(server):
    client = ApiClient(server.url)
    answers = [client.get_json("/api/v1/health", auth=False) for _ in range(3)]
    assert answers == [{"connection": 1}, {"connection": 2}, {"connection": 3}]


def test_a_post_is_not_sent_twice(server):
    """A POST may have been acted on: the client says so rather than send it again."""
    client = ApiClient(server.url)
    client.get_json("/api/v1/health", auth=False)
    with pytest.raises(CliError) as refused:
        client.post_json("/api/v1/vendor/keys/k1/revoke", {}, auth=False)
    assert refused.value.code == "server_unreachable"
    assert server.connections == 1
