package redisclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/domain"
)

// explain says which step of connecting to Redis failed, so that a bad
// certificate or password reads as such at start rather than as Redis being
// down. Only an unreachable or unanswering Redis is domain.ErrUnavailable:
// the others are settings to fix.
func explain(err error, opt rueidis.ClientOption) error {
	addrs := strings.Join(opt.InitAddress, ",")
	if opt.Sentinel.MasterSet != "" {
		addrs = "sentinels " + addrs + " (master set " + opt.Sentinel.MasterSet + ")"
	}
	switch {
	case untrusted(err):
		return fmt.Errorf("redis client: TLS to %s: the server's certificate is not trusted (check the CA file and the server name): %w", addrs, err)
	case tlsFailed(err) || opt.TLSConfig != nil && dropped(err):
		return fmt.Errorf("redis client: TLS with %s failed: the server refused the handshake or dropped the connection "+
			"(does it want a client certificate, or not trust ours?): %w", addrs, err)
	case authFailed(err):
		user := opt.Username
		if user == "" {
			user = "default"
		}
		return fmt.Errorf("redis client: authentication as user %q at %s failed (wrong username or password, or the user is off): %w", user, addrs, err)
	}
	return fmt.Errorf("redis client: connect to %s: %w: %w", addrs, domain.ErrUnavailable, err)
}

// untrusted reports whether err is a server certificate the client does not
// trust: an unknown CA, another name, an expired certificate.
func untrusted(err error) bool {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}

// tlsFailed reports whether err is another TLS failure: the server's alert
// (a client certificate it wants and did not get, or refused), or a reply
// that is no TLS record (a server without TLS on that port).
func tlsFailed(err error) bool {
	var op *net.OpError
	var record tls.RecordHeaderError
	return errors.As(err, &op) && op.Op == "remote error" || errors.As(err, &record)
}

// dropped reports whether the server closed the connection under the client.
// Over TLS 1.3 a server that refuses the client's certificate (or gets none)
// says so after the client's side of the handshake is done, and its alert
// may be lost to a reset.
func dropped(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF)
}

// authFailed reports whether Redis refused the credentials, or wanted some.
func authFailed(err error) bool {
	re, ok := rueidis.IsRedisErr(err)
	if !ok {
		return false
	}
	msg := re.Error()
	return strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "NOPERM")
}
