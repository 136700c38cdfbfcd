// Package redisclient builds a process's one Redis client, with the one set
// of options every Redis adapter (redisgate, redisidem, redisledger) runs
// on: timeouts, retries, client name, TLS, ACL credentials, and Sentinel or
// Cluster. Only cmd builds it; the adapters take the rueidis.Client it
// returns and never close it: whoever built it closes it, after them.
package redisclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/redis/rueidis"
)

// maxRetries and retryStep bound how rueidis retries a call that failed on
// the connection (it retries only what is safe to run twice: reads, and
// the scripts marked retryable): enough to ride out a dropped connection
// or a failover, not so much that every request waits out the whole
// command timeout while Redis is down.
const (
	maxRetries = 3
	retryStep  = 10 * time.Millisecond // waits 10, 20, 30 ms
)

// sentinelRefresh is how often the client asks the sentinels who the master
// is, besides following their +switch-master events: a missed event would
// otherwise leave it on a demoted master.
const sentinelRefresh = 5 * time.Second

// Config sets up the client. URL, DialTimeout and CommandTimeout are
// required; every other field may be empty. A credential, TLS or Sentinel
// field that is set replaces what the URL says of the same thing.
type Config struct {
	// URL is redis://[user:password@]host:port[/db], or rediss://… for TLS.
	// rueidis's query parameters work too: addr= (more addresses),
	// master_set=, client_name=, skip_verify, write_timeout=, protocol=.
	URL string
	// Username and Password are the ACL credentials (Redis 6 and later);
	// Password alone authenticates as the default user.
	Username, Password string
	// ClientName names the connections in CLIENT LIST, unless the URL's
	// client_name= does.
	ClientName string
	// TLS applies to rediss:// only.
	TLS TLS
	// Sentinel, when MasterSet is set, makes the URL's addresses those of
	// the sentinels, which name the master to use.
	Sentinel Sentinel
	// ClusterAddrs are more seed nodes of a Redis Cluster, beside the URL's
	// host. A client asks the first that answers for the cluster's layout.
	ClusterAddrs []string
	// DialTimeout bounds a connection attempt, TLS handshake included.
	DialTimeout time.Duration
	// CommandTimeout bounds writing a command to a connection: a hung Redis
	// drops the connection after it (the adapters bound each call too).
	CommandTimeout time.Duration
	// MaxFlushDelay lets rueidis gather concurrent commands into one write
	// (0 writes at once).
	MaxFlushDelay time.Duration
}

// TLS is how the client checks the server and proves itself to it.
type TLS struct {
	// CAFile is a PEM file of the CAs that sign the server's certificate;
	// empty: the system's roots.
	CAFile string
	// CertFile and KeyFile are a client certificate and its key (PEM), for
	// a server that asks for one; both or neither.
	CertFile, KeyFile string
	// ServerName is the name the server's certificate must carry; empty:
	// the URL's host.
	ServerName string
	// InsecureSkipVerify accepts any server certificate: for tests only.
	InsecureSkipVerify bool
}

func (t TLS) set() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
}

// Sentinel names the master set the sentinels watch, and the credentials
// the sentinels themselves ask for (often none, or others than the data
// nodes'). The data nodes get Config's credentials and TLS; the sentinels
// get the same TLS.
type Sentinel struct {
	MasterSet          string
	Username, Password string
}

// New builds the client, connects, and checks that Redis answers a PING.
// A failure names what failed: the TLS handshake (an untrusted certificate
// among others), the authentication, or the connection (domain.ErrUnavailable).
func New(ctx context.Context, cfg Config) (rueidis.Client, error) {
	opt, err := cfg.options()
	if err != nil {
		return nil, err
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, explain(err, opt)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.CommandTimeout)
	defer cancel()
	if err := pingAny(ctx, client); err != nil {
		client.Close()
		return nil, explain(err, opt)
	}
	return client, nil
}

// pingAny reports whether some node the client knows answers a PING. A
// cluster client sends a keyless command to any connection it holds, and
// it may hold one to a seed that is down while the cluster is up: asking
// node by node keeps one dead seed from failing the start.
func pingAny(ctx context.Context, client rueidis.Client) error {
	var first error
	for _, node := range client.Nodes() {
		err := node.Do(ctx, node.B().Ping().Build()).Error()
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil { // no node known: ask through the client itself
		first = client.Do(ctx, client.B().Ping().Build()).Error()
	}
	return first
}

// options turns cfg into rueidis's options, refusing a missing or
// contradictory setting with one line naming it.
func (cfg Config) options() (rueidis.ClientOption, error) {
	if err := cfg.validate(); err != nil {
		return rueidis.ClientOption{}, err
	}
	opt, err := rueidis.ParseURL(cfg.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text holds the URL, password and all
			err = ue.Err
		}
		return rueidis.ClientOption{}, fmt.Errorf("redis client: parse url: %w", err)
	}
	opt.DisableCache = true // every instance writes the keys: nothing to cache client-side
	opt.Dialer.Timeout = cfg.DialTimeout
	opt.MaxFlushDelay = cfg.MaxFlushDelay
	if opt.ConnWriteTimeout == 0 { // the URL's write_timeout wins
		opt.ConnWriteTimeout = cfg.CommandTimeout
	}
	opt.RetryDelay = retryDelay
	if opt.ClientName == "" {
		opt.ClientName = cfg.ClientName
	}
	if cfg.Username != "" {
		opt.Username = cfg.Username
	}
	if cfg.Password != "" {
		opt.Password = cfg.Password
	}
	if cfg.TLS.set() && opt.TLSConfig == nil {
		return rueidis.ClientOption{}, errors.New("redis client: TLS settings need a rediss:// url")
	}
	if opt.TLSConfig != nil {
		if err := cfg.TLS.apply(opt.TLSConfig); err != nil {
			return rueidis.ClientOption{}, err
		}
	}
	if cfg.Sentinel.MasterSet != "" {
		opt.Sentinel.MasterSet = cfg.Sentinel.MasterSet
	}
	if opt.Sentinel.MasterSet != "" {
		if len(cfg.ClusterAddrs) > 0 {
			return rueidis.ClientOption{}, errors.New("redis client: sentinel and cluster addresses exclude each other")
		}
		opt.Sentinel.Username, opt.Sentinel.Password = cfg.Sentinel.Username, cfg.Sentinel.Password
		opt.Sentinel.ClientName = opt.ClientName
		opt.Sentinel.Dialer.Timeout = cfg.DialTimeout
		if opt.TLSConfig != nil {
			opt.Sentinel.TLSConfig = opt.TLSConfig.Clone()
		}
		opt.Sentinel.TopologyRefreshInterval = sentinelRefresh
	} else if cfg.Sentinel.Username != "" || cfg.Sentinel.Password != "" {
		return rueidis.ClientOption{}, errors.New("redis client: sentinel credentials need a sentinel master set")
	}
	opt.InitAddress = append(opt.InitAddress, cfg.ClusterAddrs...)
	return opt, nil
}

// validate refuses a missing or impossible setting.
func (cfg Config) validate() error {
	switch {
	case cfg.URL == "":
		return errors.New("redis client: url must be set")
	case cfg.DialTimeout <= 0:
		return fmt.Errorf("redis client: dial timeout must be positive (got %s)", cfg.DialTimeout)
	case cfg.CommandTimeout <= 0:
		return fmt.Errorf("redis client: command timeout must be positive (got %s)", cfg.CommandTimeout)
	case cfg.MaxFlushDelay < 0:
		return fmt.Errorf("redis client: max flush delay must not be negative (got %s)", cfg.MaxFlushDelay)
	case (cfg.TLS.CertFile == "") != (cfg.TLS.KeyFile == ""):
		return errors.New("redis client: a TLS client certificate needs both its certificate file and its key file")
	}
	return nil
}

// apply sets t on c, the TLS config rueidis made for a rediss:// URL (it
// holds the URL's host as server name, and its skip_verify).
func (t TLS) apply(c *tls.Config) error {
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return fmt.Errorf("redis client: TLS CA file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("redis client: TLS CA file %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = roots
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return fmt.Errorf("redis client: TLS client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	if t.ServerName != "" {
		c.ServerName = t.ServerName
	}
	if t.InsecureSkipVerify {
		c.InsecureSkipVerify = true
	}
	return nil
}

// retryDelay is rueidis's RetryDelayFn: a short linear backoff, then give up.
func retryDelay(attempts int, _ rueidis.Completed, _ error) time.Duration {
	if attempts > maxRetries {
		return -1
	}
	return time.Duration(attempts) * retryStep
}
