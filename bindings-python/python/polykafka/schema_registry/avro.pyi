from typing import Any, Callable, Dict, Optional

from ..serialization import Deserializer, SerializationContext, Serializer
from .schema_registry_client import Schema, SchemaRegistryClient

class AvroSerializer(Serializer):
    def __init__(self, schema_registry_client: SchemaRegistryClient, schema_str: Optional[Any] = None,
                 to_dict: Optional[Callable[[Any, SerializationContext], Dict[str, Any]]] = None,
                 conf: Optional[Dict[str, Any]] = None, rule_conf: Any = None, rule_registry: Any = None) -> None: ...
    def __call__(self, obj: Any, ctx: Optional[SerializationContext] = None) -> Optional[bytes]: ...

class AvroDeserializer(Deserializer):
    def __init__(self, schema_registry_client: SchemaRegistryClient, schema_str: Optional[Any] = None,
                 from_dict: Optional[Callable[[Dict[str, Any], SerializationContext], Any]] = None,
                 return_record_name: bool = False, conf: Optional[Dict[str, Any]] = None, rule_conf: Any = None,
                 rule_registry: Any = None) -> None: ...
    def __call__(self, data: Optional[bytes], ctx: Optional[SerializationContext] = None) -> Any: ...
