from typing import Any, Callable, Dict, Optional

from ..serialization import Deserializer, SerializationContext, Serializer
from .schema_registry_client import SchemaRegistryClient

class JSONSerializer(Serializer):
    def __init__(self, schema_str: Any, schema_registry_client: SchemaRegistryClient,
                 to_dict: Optional[Callable[[Any, SerializationContext], Dict[str, Any]]] = None,
                 conf: Optional[Dict[str, Any]] = None, rule_conf: Any = None, rule_registry: Any = None) -> None: ...
    def __call__(self, obj: Any, ctx: Optional[SerializationContext] = None) -> Optional[bytes]: ...

class JSONDeserializer(Deserializer):
    def __init__(self, schema_str: Any, from_dict: Optional[Callable[[Dict[str, Any], SerializationContext], Any]] = None,
                 schema_registry_client: Optional[SchemaRegistryClient] = None, conf: Optional[Dict[str, Any]] = None,
                 rule_conf: Any = None, rule_registry: Any = None) -> None: ...
    def __call__(self, data: Optional[bytes], ctx: Optional[SerializationContext] = None) -> Any: ...
