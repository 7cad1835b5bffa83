"""arq's connection settings from our Redis URLs: the database number survives both forms (the embedded server
is a unix socket; a worker on database 0 while the API uses another would never see the API's jobs)."""

from niochat.redis import arq_settings


def test_a_unix_socket_url_keeps_its_database():
    settings = arq_settings("unix:///tmp/niochat/redis.sock?db=3")
    assert (settings.unix_socket_path, settings.database) == ("/tmp/niochat/redis.sock", 3)


def test_a_unix_socket_url_without_a_database_uses_zero():
    assert arq_settings("unix:///tmp/niochat/redis.sock").database == 0


def test_a_tcp_url_keeps_host_port_and_database():
    settings = arq_settings("redis://127.0.0.1:6380/15")
    assert (settings.host, settings.port, settings.database) == ("127.0.0.1", 6380, 15)
    assert settings.conn_timeout == 2
