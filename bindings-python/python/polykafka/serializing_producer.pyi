from typing import Any, Callable, Dict, Optional

from ._native import Message, Producer
from ._errors import KafkaError

class SerializingProducer(Producer):
    def __init__(self, conf: Optional[Dict[str, Any]] = None) -> None: ...
    def produce(self, topic: str, key: Any = None, value: Any = None, partition: int = -1,
                on_delivery: Optional[Callable[[Optional[KafkaError], Message], None]] = None, timestamp: int = 0,
                headers: Any = None) -> None: ...
