package dashboard

import "context"

// SampleNow runs one tick of the sampler, as the running sampler does every
// second. Tests call it instead of Start.
func (d *Dashboard) SampleNow(ctx context.Context) { d.smp.tick(ctx) }

// Streams returns the number of open event streams.
func (d *Dashboard) Streams() int { return d.hub.count() }

var (
	DecodeSend  = decodeSend
	DecodePurge = decodePurge
	Frame       = frame
)

const SubscriberBuffer = subscriberBuffer
