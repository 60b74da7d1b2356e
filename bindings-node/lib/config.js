'use strict'
// The one place where kafkajs options become the core's Java-style properties.
const { KafkaJSNonRetriableError } = require('./errors')
const { retryBudget, DEFAULTS: RETRY_DEFAULTS } = require('./retry')

const str = v => String(v)

function pemText(v) {
  if (v == null) return undefined
  if (Array.isArray(v)) return v.map(pemText).join('\n')
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  return String(v)
}

/** Resolves `brokers`: an array, or a (possibly async) function returning one. */
async function resolveBrokers(brokers) {
  const list = typeof brokers === 'function' ? await brokers() : brokers
  if (!Array.isArray(list) || list.length === 0) {
    throw new KafkaJSNonRetriableError(`Failed to connect: "config.brokers" returned void or empty array`)
  }
  return list
}

/**
 * Properties every client has. `kafka` is the Kafka constructor's config, `brokers` its
 * resolved list, `token` an OAUTHBEARER token already fetched from `oauthBearerProvider`.
 */
function clientProperties(kafka, brokers, { token } = {}) {
  const retry = Object.assign({}, RETRY_DEFAULTS, kafka.retry)
  const p = {
    'bootstrap.servers': brokers.join(','),
    'client.id': kafka.clientId || 'kafkajs',
    'socket.connection.setup.timeout.ms': str(kafka.connectionTimeout ?? 1000),
    'request.timeout.ms': str(kafka.requestTimeout ?? 30000),
    'retry.backoff.ms': str(retry.initialRetryTime),
    'retry.backoff.max.ms': str(Math.max(retry.maxRetryTime, retry.initialRetryTime)),
    'reconnect.backoff.ms': str(Math.min(retry.initialRetryTime, 1000)),
  }
  const ssl = kafka.ssl
  const sasl = kafka.sasl
  // Any truthy `ssl` means TLS, as in kafkajs (ssl: 'yes' used to connect in plaintext, silently).
  const tls = !!ssl
  p['security.protocol'] = tls ? (sasl ? 'SASL_SSL' : 'SSL') : sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT'
  if (ssl && typeof ssl === 'object') {
    const ca = pemText(ssl.ca)
    if (ca) p['ssl.ca.pem'] = ca
    const cert = pemText(ssl.cert)
    if (cert) p['ssl.certificate.pem'] = cert
    const key = pemText(ssl.key)
    if (key) p['ssl.key.pem'] = key
    // As in Node's tls.connect: rejectUnauthorized:false accepts any broker certificate;
    // servername is the name verified (and sent as SNI). A checkServerIdentity function cannot
    // run inside the core: it stands for "no hostname check" (the chain is still verified).
    if (ssl.rejectUnauthorized === false) p['enable.ssl.certificate.verification'] = 'false'
    if (typeof ssl.checkServerIdentity === 'function') p['ssl.endpoint.identification.algorithm'] = 'none'
    if (typeof ssl.servername === 'string' && ssl.servername) p['ssl.server.name'] = ssl.servername
  }
  if (sasl) {
    const mechanism = String(sasl.mechanism || '').toLowerCase()
    const names = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512', oauthbearer: 'OAUTHBEARER' }
    if (!names[mechanism]) {
      throw new KafkaJSNonRetriableError(
        `SASL ${String(sasl.mechanism).toUpperCase()} mechanism is not supported by the client`
      )
    }
    p['sasl.mechanism'] = names[mechanism]
    if (mechanism === 'oauthbearer') {
      if (token) p['sasl.oauthbearer.token'] = token
    } else {
      p['sasl.username'] = str(sasl.username ?? '')
      p['sasl.password'] = str(sasl.password ?? '')
    }
  }
  return p
}

/** Fetches an OAUTHBEARER token once (at connect) from `sasl.oauthBearerProvider`. */
async function oauthToken(kafka) {
  const sasl = kafka.sasl
  if (!sasl || String(sasl.mechanism).toLowerCase() !== 'oauthbearer') return undefined
  if (typeof sasl.oauthBearerProvider !== 'function') {
    throw new KafkaJSNonRetriableError('SASL OAUTHBEARER: Missing OAuth bearer token provider')
  }
  const t = await sasl.oauthBearerProvider()
  if (!t || !t.value) throw new KafkaJSNonRetriableError('SASL OAUTHBEARER: Invalid OAuth bearer token')
  return t.value
}

/** Producer properties: kafkajs's behaviour (no linger, acks per send, idempotence off unless
 * asked) in the core's terms. */
function producerProperties(kafka, brokers, opts = {}, extra = {}) {
  const p = clientProperties(kafka, brokers, extra)
  const retry = Object.assign({}, RETRY_DEFAULTS, kafka.retry, opts.retry)
  const idempotent = !!opts.idempotent || !!opts.transactionalId
  const requestTimeout = kafka.requestTimeout ?? 30000
  const budget = retryBudget(retry)
  p['allow.auto.create.topics'] = String(opts.allowAutoTopicCreation ?? true)
  p['enable.idempotence'] = String(idempotent)
  p['linger.ms'] = '0'
  p['batch.size'] = String(1024 * 1024)
  // kafkajs checks no size itself: the broker's limit decides (MESSAGE_TOO_LARGE).
  p['max.request.size'] = String(64 * 1024 * 1024)
  p['buffer.memory'] = String(256 * 1024 * 1024)
  p['retries'] = String(idempotent ? 2147483647 : Math.max(0, Math.min(retry.retries, 2147483647)))
  p['max.block.ms'] = String(Math.max(budget, 1000))
  p['delivery.timeout.ms'] = String(requestTimeout + Math.max(budget, 1000))
  if (opts.maxInFlightRequests != null && opts.maxInFlightRequests > 0) {
    p['max.in.flight.requests.per.connection'] = String(idempotent ? Math.min(opts.maxInFlightRequests, 5) : opts.maxInFlightRequests)
  }
  if (opts.transactionalId) p['transactional.id'] = String(opts.transactionalId)
  if (opts.transactionTimeout != null) p['transaction.timeout.ms'] = String(opts.transactionTimeout)
  return p
}

function adminProperties(kafka, brokers, extra = {}) {
  const p = clientProperties(kafka, brokers, extra)
  const retry = Object.assign({}, RETRY_DEFAULTS, kafka.retry)
  p['default.api.timeout.ms'] = String((kafka.requestTimeout ?? 30000) + retryBudget(retry))
  return p
}

/** How long a client's connect() tries to reach the cluster (the core retries the metadata
 * request meanwhile): kafkajs's connection timeout plus the waits of its retry policy. */
function connectTimeout(kafka, retry) {
  return (kafka.connectionTimeout ?? 1000) + retryBudget(Object.assign({}, RETRY_DEFAULTS, kafka.retry, retry))
}

module.exports = { resolveBrokers, clientProperties, producerProperties, adminProperties, connectTimeout, oauthToken, pemText }
