package queue

// CheckBatch applies SQS's rules for a batch request to its entries' ids:
// 1 to MaxBatchEntries entries, each id 1 to MaxBatchEntryIDLen letters,
// digits, hyphens or underscores, no id twice. entryName names an entry in
// the messages, as AWS does ("SendMessageBatchRequestEntry").
func CheckBatch(entryName string, ids []string) *Error {
	if err := CheckBatchCount(entryName, len(ids)); err != nil {
		return err
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !validBatchID(id) {
			return errorf(ErrInvalidBatchEntryID, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most %d letters long.", MaxBatchEntryIDLen)
		}
		if seen[id] {
			return errorf(ErrBatchEntryIdsNotDistinct, "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

// CheckBatchCount refuses a batch of n entries unless 1 <= n <=
// MaxBatchEntries.
func CheckBatchCount(entryName string, n int) *Error {
	if n == 0 {
		return errorf(ErrEmptyBatchRequest, "There should be at least one %s in the request.", entryName)
	}
	if n > MaxBatchEntries {
		return TooManyEntries(n)
	}
	return nil
}

// TooManyEntries is the error for a batch of n entries, n > MaxBatchEntries.
// Decoders call it as soon as they have counted the entries, before they
// decode any.
func TooManyEntries(n int) *Error {
	return errorf(ErrTooManyEntriesInBatchRequest, "Maximum number of entries per request are %d. You have sent %d.", MaxBatchEntries, n)
}

// CheckBatchSize refuses a SendMessageBatch whose messages (bodies and
// attributes, as messageSize counts them) add up to more than
// MaxMessageSize bytes.
func CheckBatchSize(ins []SendInput) *Error {
	total := 0
	for i := range ins {
		total += messageSize(ins[i].Body, ins[i].Attributes)
	}
	if total > MaxMessageSize {
		return errorf(ErrBatchRequestTooLong, "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", MaxMessageSize, total)
	}
	return nil
}

// CheckSendBatch applies the rules SQS checks on a SendMessageBatch as a
// whole, before any entry is sent: the total size, and on a FIFO queue a
// MessageGroupId on every entry (one missing fails the request, where a
// single SendMessage answers MissingParameter).
func (q *Queue) CheckSendBatch(ins []SendInput) *Error {
	if err := CheckBatchSize(ins); err != nil {
		return err
	}
	if q.IsFIFO() {
		for i := range ins {
			if ins[i].GroupID == "" {
				return errorf(ErrInvalidParameterValue, "The request must contain the parameter MessageGroupId.")
			}
		}
	}
	return nil
}

func validBatchID(id string) bool {
	if id == "" || len(id) > MaxBatchEntryIDLen {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}
