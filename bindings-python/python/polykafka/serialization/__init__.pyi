from enum import Enum
from typing import Any, Dict, List, Optional, Tuple, Union

from .._errors import KafkaException

Headers = Union[Dict[str, Any], List[Tuple[str, Any]], None]

class MessageField(str, Enum):
    NONE: str
    KEY: str
    VALUE: str

class SerializationContext:
    topic: str
    field: MessageField
    headers: Headers
    def __init__(self, topic: str, field: MessageField, headers: Headers = None) -> None: ...

class SerializationError(KafkaException): ...

class Serializer:
    def __call__(self, obj: Any, ctx: Optional[SerializationContext] = None) -> Optional[bytes]: ...
    def close(self) -> None: ...

class Deserializer:
    def __call__(self, value: Optional[bytes], ctx: Optional[SerializationContext] = None) -> Any: ...
    def close(self) -> None: ...

class DoubleSerializer(Serializer):
    def __call__(self, obj: Optional[float], ctx: Optional[SerializationContext] = None) -> Optional[bytes]: ...

class DoubleDeserializer(Deserializer):
    def __call__(self, value: Optional[bytes], ctx: Optional[SerializationContext] = None) -> Optional[float]: ...

class IntegerSerializer(Serializer):
    def __call__(self, obj: Optional[int], ctx: Optional[SerializationContext] = None) -> Optional[bytes]: ...

class IntegerDeserializer(Deserializer):
    def __call__(self, value: Optional[bytes], ctx: Optional[SerializationContext] = None) -> Optional[int]: ...

class StringSerializer(Serializer):
    def __init__(self, codec: str = "utf_8") -> None: ...
    def __call__(self, obj: Optional[str], ctx: Optional[SerializationContext] = None) -> Optional[bytes]: ...

class StringDeserializer(Deserializer):
    def __init__(self, codec: str = "utf_8") -> None: ...
    def __call__(self, value: Optional[bytes], ctx: Optional[SerializationContext] = None) -> Optional[str]: ...
