package config

import (
	"errors"
	"fmt"
	"os"
)

// QueuesFile is a file that declares queues alone, as `qscale server
// --queues FILE` reads it: the `queues:` list of qscale up's file, in the
// same schema (Queue).
//
//	queues:
//	  - name: jobs-dlq
//	  - name: jobs
//	    attributes: {VisibilityTimeout: "60", RedrivePolicy: '{"deadLetterTargetArn":"jobs-dlq","maxReceiveCount":5}'}
//	    tags: {team: billing}
type QueuesFile struct {
	Queues []Queue `yaml:"queues"`
}

// LoadQueues reads a queues file (ParseQueues).
func LoadQueues(path string) ([]Queue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("queues file: %w", err)
	}
	qs, err := ParseQueues(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return qs, nil
}

// ParseQueues decodes a queues file with Decode and checks its list
// (ValidateQueues); every problem names its field's path.
func ParseQueues(data []byte) ([]Queue, error) {
	var f QueuesFile
	if err := Decode(data, &f); err != nil {
		return nil, err
	}
	if err := ValidateQueues(f.Queues); err != nil {
		return nil, err
	}
	return f.Queues, nil
}

// ValidateQueues checks a queues list as qscale up and qscale server both
// read it: every queue has a name, and no name is listed twice. The
// engine checks the names and attributes themselves when it creates the
// queues.
func ValidateQueues(qs []Queue) error {
	var errs []error
	seen := map[string]bool{}
	for i, q := range qs {
		switch {
		case q.Name == "":
			errs = append(errs, fe(fmt.Sprintf("queues[%d].name", i), "is required"))
		case seen[q.Name]:
			errs = append(errs, fe(fmt.Sprintf("queues[%d].name", i), "%q is listed twice", q.Name))
		}
		seen[q.Name] = true
	}
	return errors.Join(errs...)
}
