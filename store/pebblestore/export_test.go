package pebblestore

// DecodeForFuzz exposes the record decoders to the fuzz test.
func DecodeForFuzz(b []byte) {
	decodeMessage(b, 1)
	decodeRecord(b, 1, false) // Load's path: one string for every field
	decodeState(b)
}

// CountKeys counts the live keys of one kind ('m' index records, 'b'
// whole messages, 's' states) after committing the waiting lazy ops.
func CountKeys(s *Store, kind byte) (int, error) {
	if err := s.flushLazy(); err != nil {
		return 0, err
	}
	in, err := s.current()
	if err != nil {
		return 0, err
	}
	n := 0
	err = scan(in.db, kind, func(k, v []byte) error { n++; return nil })
	return n, err
}
