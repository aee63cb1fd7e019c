package autoscale

// QueueConfig names an SQS queue to observe, as a QueueSource built from
// settings (package sqssource) takes it. Package config reads it from the
// configuration file (a fleet's queue) with its defaults applied.
type QueueConfig struct {
	// URL is the queue URL, as GetQueueUrl returns it.
	URL string
	// Endpoint overrides the SQS endpoint (the embedded server, moto);
	// empty: the URL's scheme and host for non-AWS hosts, the regional AWS
	// endpoint otherwise.
	Endpoint string
	// Region for signing.
	Region string
}
