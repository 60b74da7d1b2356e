from typing import Any, Optional

from ._errors import KafkaError as KafkaError
from ._errors import KafkaException as KafkaException
from ._native import Message
from .serialization import SerializationError as SerializationError

class _KafkaClientError(KafkaException):
    exception: Optional[BaseException]
    kafka_message: Optional[Message]
    def __init__(self, kafka_error: KafkaError, exception: Optional[BaseException] = None,
                 kafka_message: Optional[Message] = None) -> None: ...
    @property
    def code(self) -> int: ...
    @property
    def name(self) -> str: ...

class ConsumeError(_KafkaClientError): ...

class KeyDeserializationError(ConsumeError, SerializationError):
    def __init__(self, exception: Optional[BaseException] = None, kafka_message: Optional[Message] = None) -> None: ...

class ValueDeserializationError(ConsumeError, SerializationError):
    def __init__(self, exception: Optional[BaseException] = None, kafka_message: Optional[Message] = None) -> None: ...

class ProduceError(_KafkaClientError):
    def __init__(self, kafka_error: KafkaError, exception: Optional[BaseException] = None) -> None: ...

class KeySerializationError(ProduceError, SerializationError):
    def __init__(self, exception: Optional[BaseException] = None) -> None: ...

class ValueSerializationError(ProduceError, SerializationError):
    def __init__(self, exception: Optional[BaseException] = None) -> None: ...
