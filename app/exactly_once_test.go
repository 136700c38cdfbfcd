package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports/portmocks"
)

func TestExactlyOnce(t *testing.T) {
	task := domain.Task{ID: "t1", Kind: domain.KindGiftCode}
	tests := []struct {
		name      string
		inner     domain.Result
		record    func(*portmocks.MockIssuanceLedger)
		wantValue string
		wantError string
	}{
		{
			name:  "first_run_records_and_returns_its_value",
			inner: domain.Result{TaskID: "t1", Value: "GIFT-A"},
			record: func(l *portmocks.MockIssuanceLedger) {
				l.EXPECT().Record(gomock.Any(), "t1", "GIFT-A").Return("GIFT-A", nil)
			},
			wantValue: "GIFT-A",
		},
		{
			name:  "redelivery_returns_the_first_value",
			inner: domain.Result{TaskID: "t1", Value: "GIFT-B"},
			record: func(l *portmocks.MockIssuanceLedger) {
				l.EXPECT().Record(gomock.Any(), "t1", "GIFT-B").Return("GIFT-A", nil)
			},
			wantValue: "GIFT-A",
		},
		{
			name:      "failure_is_not_recorded",
			inner:     domain.Result{TaskID: "t1", Error: "boom"},
			record:    func(*portmocks.MockIssuanceLedger) {},
			wantError: "boom",
		},
		{
			name:  "ledger_down_fails_the_task",
			inner: domain.Result{TaskID: "t1", Value: "GIFT-A"},
			record: func(l *portmocks.MockIssuanceLedger) {
				l.EXPECT().Record(gomock.Any(), "t1", "GIFT-A").Return("", domain.ErrUnavailable)
			},
			wantError: "record issuance",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			inner := portmocks.NewMockTaskProcessor(ctrl)
			inner.EXPECT().Process(gomock.Any(), task).Return(tt.inner)
			ledger := portmocks.NewMockIssuanceLedger(ctrl)
			tt.record(ledger)
			p, err := app.NewExactlyOnce(inner, ledger)
			require.NoError(t, err)

			res := p.Process(context.Background(), task)
			assert.Equal(t, "t1", res.TaskID)
			assert.Equal(t, tt.wantValue, res.Value)
			if tt.wantError == "" {
				assert.Empty(t, res.Error)
			} else {
				assert.Contains(t, res.Error, tt.wantError)
			}
		})
	}
	_, err := app.NewExactlyOnce(nil, nil)
	require.Error(t, err)
}
