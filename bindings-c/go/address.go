package kafka

import (
	"net"
	"strings"
)

// TCP returns the address of one or more brokers ("host" or "host:port"; the port defaults to
// 9092). Several addresses are joined with commas by String.
func TCP(address ...string) net.Addr {
	switch len(address) {
	case 0:
		return nil
	case 1:
		return tcpAddr(canonical(address[0]))
	default:
		m := make(multiAddr, len(address))
		for i, a := range address {
			m[i] = tcpAddr(canonical(a))
		}
		return m
	}
}

func canonical(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || (host == "" && port == "") {
		return net.JoinHostPort(s, "9092")
	}
	return net.JoinHostPort(host, port)
}

type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

type multiAddr []net.Addr

func (m multiAddr) Network() string { return m.join(net.Addr.Network) }
func (m multiAddr) String() string  { return m.join(net.Addr.String) }

func (m multiAddr) join(f func(net.Addr) string) string {
	parts := make([]string, len(m))
	for i, a := range m {
		parts[i] = f(a)
	}
	return strings.Join(parts, ",")
}
