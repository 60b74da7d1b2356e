// The seed's schema registry snippet, compiled against our declarations and the library's
// (only the import differs between the two: the `schema-registry-client` path).
import { SchemaRegistry, SchemaType, COMPATIBILITY, readAVSCAsync } from 'schema-registry-client'

export async function seed(message: { value: Buffer }): Promise<void> {
  const registry = new SchemaRegistry({ host: 'http://localhost:8081', auth: { username: 'u', password: 'p' }, retry: { retries: 2 } })
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: '{"type":"record","name":"U","namespace":"n","fields":[]}' },
    { subject: 'user-events-value', compatibility: COMPATIBILITY.BACKWARD }
  )
  const schema = await registry.getLatestSchemaId('user-events-value')
  const encoded: Buffer = await registry.encode(schema, { userId: '123', eventType: 'USER_CREATED', timestamp: Date.now() })
  const decoded = await registry.decode(message.value)
  const evolved = await registry.decode(encoded, { [SchemaType.AVRO]: { readerSchema: await readAVSCAsync('u.avsc') } })
  const n: number = (await registry.getRegistryId('user-events-value', 1)) + (await registry.getRegistryIdBySchema('s', { type: SchemaType.JSON, schema: '{}' }))
  console.log(id, decoded, evolved, n)
}
