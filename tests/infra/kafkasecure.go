package infra

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// SecureKafka is a broker of the test's own with a listener as managed
// services run theirs: SASL/SCRAM-SHA-512 logins over TLS. Its certificate
// (for 127.0.0.1 and localhost) is signed by PKI's CA and served from a PEM
// keystore; the SCRAM credential of User is made when the storage is
// formatted. Its PLAINTEXT listener stays, for kafka.sh's readiness probe
// and the broker's own traffic; clients use SecureAddr.
type SecureKafka struct {
	*Kafka
	SecureAddr     string
	PKI            *PKI
	User, Password string
}

// StartSecureKafka starts a SecureKafka (following StartKafka's
// skip-or-fail rule) and stops it when the test ends.
func StartSecureKafka(t testing.TB) *SecureKafka {
	t.Helper()
	KafkaBootstrap(t) // before making anything: skip (or fail in CI) as StartKafka does
	k := &SecureKafka{SecureAddr: FreeAddr(t), PKI: NewPKI(t), User: "rps", Password: rand.Text()}
	dir := t.TempDir()
	keystore := filepath.Join(dir, "keystore.pem") // the key, then the chain: what a PEM keystore file holds
	key, err := os.ReadFile(k.PKI.ServerKeyFile)
	require.NoError(t, err)
	cert, err := os.ReadFile(k.PKI.ServerCertFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keystore, append(key, cert...), 0o600))

	// kafka.sh fills in the PLAINTEXT and CONTROLLER ports it was given.
	listeners := "PLAINTEXT://127.0.0.1:@BROKER_PORT@,CONTROLLER://127.0.0.1:@CONTROLLER_PORT@,SECURE://" + k.SecureAddr
	props := filepath.Join(dir, "secure.properties")
	require.NoError(t, os.WriteFile(props, []byte(strings.Join([]string{
		"listeners=" + listeners,
		"advertised.listeners=" + listeners,
		"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SECURE:SASL_SSL",
		"listener.name.secure.sasl.enabled.mechanisms=SCRAM-SHA-512",
		"listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"listener.name.secure.ssl.keystore.type=PEM",
		"listener.name.secure.ssl.keystore.location=" + keystore,
	}, "\n")+"\n"), 0o600))
	k.Kafka = StartKafka(t, func(b *Kafka) {
		b.env = append(b.env, "KAFKA_EXTRA_PROPERTIES="+props,
			fmt.Sprintf("KAFKA_ADD_SCRAM=SCRAM-SHA-512=[name=%s,password=%s]", k.User, k.Password))
	})
	return k
}

// ClientEnv is the environment a server or worker connects to the SASL_SSL
// listener with, in the variables docs/configuration.md ("Managed Kafka")
// gives: password for the login, caFile the CA it trusts.
func (k *SecureKafka) ClientEnv(password, caFile string) []string {
	return []string{
		"KAFKA_BOOTSTRAP_SERVERS=" + k.SecureAddr,
		"RPS_KAFKA__SETTINGS__SECURITY_PROTOCOL=SASL_SSL",
		"RPS_KAFKA__SETTINGS__SASL_MECHANISMS=SCRAM-SHA-512",
		"RPS_KAFKA__SETTINGS__SASL_USERNAME=" + k.User,
		"RPS_KAFKA__SETTINGS__SASL_PASSWORD=" + password,
		"RPS_KAFKA__SETTINGS__SSL_CA_LOCATION=" + caFile,
	}
}
