package domain_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
)

func TestKindValidate(t *testing.T) {
	for kind, ok := range map[domain.Kind]bool{
		domain.KindGiftCode:  true,
		"a":                  true,
		"z":                  true,
		"az":                 true,
		"ba":                 true,
		"a0":                 true,
		"a9":                 true,
		"a_":                 true,
		"":                   false,
		"`":                  false, // the byte before 'a'
		"{":                  false, // the byte after 'z'
		"a`":                 false,
		"a{":                 false,
		"a/":                 false, // the byte before '0'
		"a:":                 false, // the byte after '9'
		"A":                  false,
		"Upper":              false,
		"with space":         false,
		"9starts_digit":      false,
		"_starts_underscore": false,
		"ends_digit_9":       true,
		"kind-with-dash":     false,
		"café":               false,
		domain.Kind("k" + strings.Repeat("x", 63)): true,
		domain.Kind("k" + strings.Repeat("x", 64)): false,
	} {
		err := kind.Validate()
		if ok {
			assert.NoError(t, err, kind)
		} else {
			assert.ErrorIs(t, err, domain.ErrInvalidTask, kind)
		}
	}
}

func TestKindValidate_SaysWhatAKindMayBe(t *testing.T) {
	err := domain.Kind("Bad").Validate()
	require.EqualError(t, err, `invalid task: kind "Bad" must be a lower-case letter then up to 63 lower-case letters, digits or _`)
}

func TestTaskValidate(t *testing.T) {
	require.NoError(t, domain.Task{ID: "x", Kind: domain.KindGiftCode}.Validate())
	require.ErrorIs(t, domain.Task{Kind: domain.KindGiftCode}.Validate(), domain.ErrInvalidTask)
}

func TestNewGiftCode(t *testing.T) {
	code, err := domain.NewGiftCode(rand.Reader)
	require.NoError(t, err)
	assert.True(t, domain.IsGiftCode(code), code)
	assert.Len(t, code, len("GIFT-")+24)
	assert.NotContains(t, code[5:], "I")
	assert.NotContains(t, code[5:], "O")

	// The same randomness gives the same code: the code is a pure function of it.
	same1, _ := domain.NewGiftCode(bytes.NewReader(make([]byte, 15)))
	same2, _ := domain.NewGiftCode(bytes.NewReader(make([]byte, 15)))
	assert.Equal(t, same1, same2)

	_, err = domain.NewGiftCode(bytes.NewReader([]byte{1, 2}))
	require.Error(t, err)
}

func TestIsGiftCode(t *testing.T) {
	assert.False(t, domain.IsGiftCode(""))
	assert.False(t, domain.IsGiftCode("GIFT-"))
	assert.False(t, domain.IsGiftCode("GIFT-abc"))
	assert.False(t, domain.IsGiftCode("CODE-0123456789ABCDEFGHJKMNPQ"))

	// The right prefix and length, but a character outside the alphabet:
	// I, L, O and U are left out so codes read back without confusion.
	valid := "GIFT-0123456789ABCDEFGHJKMNPQ"
	require.True(t, domain.IsGiftCode(valid))
	for _, c := range []string{"I", "L", "O", "U", "a", "-", " ", "é"[:1]} {
		bad := valid[:len(valid)-1] + c
		require.Len(t, bad, len(valid))
		assert.False(t, domain.IsGiftCode(bad), "%q", bad)
	}
}

// The Python original's codes are "GIFT-" + str(uuid4()).upper(): they are
// codes too, so replies of its workers pass during a migration.
func TestIsGiftCode_TheOriginalsFormat(t *testing.T) {
	assert.True(t, domain.IsGiftCode("GIFT-9F1C2B7E-4A3D-4C21-8B0E-5D6F7A8B9C0D"))
	for _, bad := range []string{
		"GIFT-9f1c2b7e-4a3d-4c21-8b0e-5d6f7a8b9c0d", // lower case
		"GIFT-9F1C2B7E4A3D4C218B0E5D6F7A8B9C0DXXXX", // no dashes
		"GIFT-9F1C2B7E-4A3D-4C21-8B0E-5D6F7A8B9C0G", // not hex
		"CODE-9F1C2B7E-4A3D-4C21-8B0E-5D6F7A8B9C0D", // wrong prefix
		"GIFT-9F1C2B7E-4A3D-4C21-8B0E-5D6F7A8B9C0",  // 40 characters
	} {
		assert.False(t, domain.IsGiftCode(bad), bad)
	}
}

func TestResultErr(t *testing.T) {
	require.NoError(t, domain.Result{Value: "v"}.Err())
	err := domain.Result{Error: "boom"}.Err()
	require.ErrorIs(t, err, domain.ErrTaskFailed)
	require.ErrorContains(t, err, "boom")
}

// A keyed task is told apart by its id alone, so a worker needs nothing
// else from the message; the ids servers make for other tasks (UUIDs, the
// Python original's too) never look keyed.
func TestKeyedTaskID(t *testing.T) {
	id := "6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b"
	assert.True(t, domain.IsKeyedTask(domain.KeyedTaskID(id)))
	assert.False(t, domain.IsKeyedTask(id))
	assert.NotEqual(t, id, domain.KeyedTaskID(id))
}
