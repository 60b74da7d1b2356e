'use strict'
// While a client is connected the process stays alive, as with kafkajs's open sockets (native
// connections are invisible to Node's event loop); after the last disconnect() nothing holds it.
let connected = 0
let timer = null

function acquire() {
  if (connected++ === 0) timer = setInterval(() => {}, 1 << 30)
}

function release() {
  if (connected === 0) return
  if (--connected === 0) {
    clearInterval(timer)
    timer = null
  }
}

module.exports = { acquire, release }
