"""Errors of the schema registry client, as confluent-kafka's ``schema_registry.error``."""

__all__ = ["SchemaRegistryError", "SchemaRegistryUnreachableError"]


class SchemaRegistryError(Exception):
    """An error answered by the schema registry: ``http_status_code``, ``error_code`` (the
    registry's code, e.g. 40401; -1 when unknown) and ``error_message``."""

    UNKNOWN = -1

    def __init__(self, http_status_code, error_code, error_message):
        self.http_status_code = http_status_code
        self.error_code = error_code
        self.error_message = error_message

    def __repr__(self):
        return str(self)

    def __str__(self):
        return "{} (HTTP status code {}, SR code {})".format(self.error_message, self.http_status_code, self.error_code)


class SchemaRegistryUnreachableError(SchemaRegistryError, ConnectionError):
    """The registry could not be reached or did not answer in time (after the retries).
    Retriable. confluent-kafka raises httpx's ``ConnectError`` here; this one is a
    ``ConnectionError`` and a ``SchemaRegistryError`` with ``http_status_code`` -1."""

    retriable = True

    def __init__(self, error_message):
        SchemaRegistryError.__init__(self, -1, SchemaRegistryError.UNKNOWN, error_message)
        ConnectionError.__init__(self, error_message)

    def __str__(self):
        return SchemaRegistryError.__str__(self)
