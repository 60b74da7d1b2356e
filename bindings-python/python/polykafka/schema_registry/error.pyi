class SchemaRegistryError(Exception):
    UNKNOWN: int
    http_status_code: int
    error_code: int
    error_message: str
    def __init__(self, http_status_code: int, error_code: int, error_message: str) -> None: ...

class SchemaRegistryUnreachableError(SchemaRegistryError, ConnectionError):
    def __init__(self, error_message: str) -> None: ...
