package redisgate

// Crash stops g the way a killed process stops: its sync loop ends (no more
// renewals) and its connections close, and nothing is given back.
func (g *Gate) Crash() {
	if g.blocks != nil {
		g.blocks.stop()
		<-g.blocks.done
	}
	g.undos.Close()
	g.client.Close()
}
