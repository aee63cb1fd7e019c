package pebblestore

// DecodeForFuzz exposes the record decoders to the fuzz test.
func DecodeForFuzz(b []byte) {
	decodeMessage(b, 1)
	decodeState(b)
}
