package redisgate

// Crash stops g the way a killed process stops: its sync loop ends (no more
// renewals) and nothing is given back. The test closes its client.
func (g *BlockGate) Crash() {
	g.stop()
	<-g.done
	g.undos.Close()
}
