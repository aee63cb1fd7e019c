package config

import (
	"time"

	"github.com/qscale/qscale/queue"
)

// Every default of qscale's configuration file, in one place. A field left
// out (or zero) takes the value below when the file is loaded
// (Config.WithDefaults); docs/configuration.md lists the same table.
const (
	// DefaultRegion signs SQS, ECS, EC2 Auto Scaling and CloudWatch calls
	// when neither the file nor the AWS configuration chain names a region
	// (a queue URL on amazonaws.com names its own).
	DefaultRegion = queue.DefaultRegion

	// DefaultServerListen is qscale up's SQS endpoint: loopback only.
	DefaultServerListen = "127.0.0.1:9324"
	// DefaultDataDir keeps qscale up's queues, relative to the file.
	DefaultDataDir = "qscale-data"
	// DefaultAccountID is the account in queue URLs and ARNs.
	DefaultAccountID = "000000000000"
	// DefaultConsoleListen is qscale up's dashboard, producer endpoint
	// and metrics: loopback only. "off" turns the console off.
	DefaultConsoleListen = "127.0.0.1:9325"
	// DefaultConsoleHistory is how much the dashboard keeps.
	DefaultConsoleHistory = 24 * time.Hour

	// DefaultInterval is the time between two observations of a fleet.
	DefaultInterval = time.Second
	// MinInterval is the shortest interval accepted.
	MinInterval = 100 * time.Millisecond
	// DefaultHistory is how many decisions a fleet keeps in memory.
	DefaultHistory = 1000

	// DefaultStopGrace is how long a stopped local worker may take to
	// finish what it holds before it is killed: above qscale worker's own
	// --grace (30s), so a worker releases what it cannot finish before the
	// kill. A worker of the worker: shorthand gets --grace of three
	// quarters of stopGrace.
	DefaultStopGrace = 40 * time.Second
	// DefaultStartTimeout is how long a local worker may take to become
	// ready before it is replaced.
	DefaultStartTimeout = time.Minute
	// DefaultRestartBackoff and DefaultMaxRestartBackoff bound the wait
	// before a crashed local worker is replaced (doubling per crash).
	DefaultRestartBackoff    = time.Second
	DefaultMaxRestartBackoff = 30 * time.Second
	// DefaultWorkerWait is the long poll of the worker: shorthand's
	// workers (seconds): a stopping worker finishes the poll it is in, and
	// local polls cost nothing, so a short one makes drains quicker.
	DefaultWorkerWait = 5

	// DefaultKubernetesStatusPort is the workers' --status-addr port in a
	// Kubernetes fleet.
	DefaultKubernetesStatusPort = 9090
	// DefaultKubernetesQPS is the Kubernetes client's rate limit
	// (requests per second; bursts of 6 times as many).
	DefaultKubernetesQPS = 50
	// DefaultLeaseDuration, DefaultRenewDeadline and DefaultRetryPeriod
	// time a kubernetes fleet's leader election (Kubernetes' own
	// controllers use the same); the Lease's default name is the
	// workload's followed by DefaultLeaseSuffix.
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	DefaultLeaseSuffix   = "-autoscaler"

	// DefaultProtectionExpiry is how long ECS task scale-in protection set
	// by qscale lasts; MinProtectionExpiry..MaxProtectionExpiry is what
	// ECS accepts.
	DefaultProtectionExpiry = 10 * time.Minute
	MinProtectionExpiry     = time.Minute
	MaxProtectionExpiry     = 48 * time.Hour

	// DefaultCloudWatchNamespace, DefaultCloudWatchMetric,
	// DefaultCloudWatchUnit and DefaultCloudWatchPeriod are the metric AWS's SQS scaling guide publishes
	// metric: SQS/BACKLOG backlogpertask, a Count, every minute, with the
	// dimension SQSName = the queue's name.
	DefaultCloudWatchNamespace = "SQS/BACKLOG"
	DefaultCloudWatchMetric    = "backlogpertask"
	DefaultCloudWatchUnit      = "Count"
	DefaultCloudWatchPeriod    = time.Minute
	DefaultCloudWatchDimension = "SQSName"
	// DefaultGuardrailPeriod is the window of a scaleOut or scaleIn
	// guardrail.
	DefaultGuardrailPeriod = time.Minute
	// DefaultFallbackFailures is how many observations of the queue in a
	// row must fail before the fallback size is set.
	DefaultFallbackFailures = 3
	// DefaultAutoscaleConsole is qscale autoscale's console (metrics,
	// health, decisions, dashboard): loopback only. "off" turns it off.
	DefaultAutoscaleConsole = "127.0.0.1:9326"

	// DefaultCloudWatchProtocol is the SDK's own wire protocol.
	DefaultCloudWatchProtocol = "cbor"
)
