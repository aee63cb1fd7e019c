package sqsconn

import (
	"testing"
)

// TestResolve is the rule table: which endpoint and region every client
// reaches for a queue URL, an explicit endpoint and the environment.
func TestResolve(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		opts     Options
		env      map[string]string
		url      string
		region   string
		aws      bool
		source   Source
		regional bool
	}{
		{name: "nothing: the local server", url: DefaultEndpoint, region: "", source: FromDefault},
		{name: "nothing, AWS_REGION set: still local", env: map[string]string{"AWS_REGION": "eu-west-1"},
			url: DefaultEndpoint, region: "eu-west-1", source: FromDefault},
		{name: "local queue URL", opts: Options{QueueURL: "http://127.0.0.1:9324/000000000000/jobs"},
			url: "http://127.0.0.1:9324", source: FromQueueURL},
		{name: "localhost queue URL", opts: Options{QueueURL: "http://localhost:4566/000000000000/jobs"},
			url: "http://localhost:4566", source: FromQueueURL},
		{name: "custom host queue URL", opts: Options{QueueURL: "https://queues.example.com:8443/1/jobs"},
			url: "https://queues.example.com:8443", source: FromQueueURL},
		{name: "localstack's own host is not AWS", opts: Options{QueueURL: "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/q"},
			url: "http://sqs.us-east-1.localhost.localstack.cloud:4566", source: FromQueueURL},
		{name: "aws", opts: Options{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"},
			url: "https://sqs.eu-west-1.amazonaws.com", region: "eu-west-1", aws: true, source: FromQueueURL, regional: true},
		{name: "aws host region beats AWS_REGION", opts: Options{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"},
			env: map[string]string{"AWS_REGION": "us-west-2"},
			url: "https://sqs.eu-west-1.amazonaws.com", region: "eu-west-1", aws: true, source: FromQueueURL, regional: true},
		{name: "legacy aws host", opts: Options{QueueURL: "https://ap-northeast-1.queue.amazonaws.com/123456789012/jobs"},
			url: "https://sqs.ap-northeast-1.amazonaws.com", region: "ap-northeast-1", aws: true, source: FromQueueURL, regional: true},
		{name: "legacy us-east-1 host", opts: Options{QueueURL: "https://queue.amazonaws.com/123456789012/jobs"},
			url: "https://sqs.us-east-1.amazonaws.com", region: "us-east-1", aws: true, source: FromQueueURL, regional: true},
		{name: "china", opts: Options{QueueURL: "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs"},
			url: "https://sqs.cn-north-1.amazonaws.com.cn", region: "cn-north-1", aws: true, source: FromQueueURL, regional: true},
		{name: "govcloud", opts: Options{QueueURL: "https://sqs.us-gov-west-1.amazonaws.com/123456789012/jobs"},
			url: "https://sqs.us-gov-west-1.amazonaws.com", region: "us-gov-west-1", aws: true, source: FromQueueURL, regional: true},
		{name: "fips", opts: Options{QueueURL: "https://sqs-fips.us-east-2.amazonaws.com/123456789012/jobs"},
			url: "https://sqs-fips.us-east-2.amazonaws.com", region: "us-east-2", aws: true, source: FromQueueURL, regional: true},
		{name: "fips from the environment", opts: Options{QueueURL: "https://sqs.us-west-1.amazonaws.com/123456789012/jobs"},
			env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"},
			url: "https://sqs-fips.us-west-1.amazonaws.com", region: "us-west-1", aws: true, source: FromQueueURL, regional: true},
		{name: "dual-stack", opts: Options{QueueURL: "https://sqs.eu-central-1.api.aws/123456789012/jobs"},
			url: "https://sqs.eu-central-1.api.aws", region: "eu-central-1", aws: true, source: FromQueueURL, regional: true},
		{name: "iso", opts: Options{QueueURL: "https://sqs.us-iso-east-1.c2s.ic.gov/123456789012/jobs"},
			url: "https://sqs.us-iso-east-1.c2s.ic.gov", region: "us-iso-east-1", aws: true, source: FromQueueURL, regional: true},
		{name: "vpc endpoint", opts: Options{QueueURL: "https://vpce-0a1b2c3d-abcdefgh.sqs.eu-west-3.vpce.amazonaws.com/123456789012/jobs"},
			url: "https://sqs.eu-west-3.amazonaws.com", region: "eu-west-3", aws: true, source: FromQueueURL, regional: true},
		{name: "aws host, region not in it: the environment's", opts: Options{QueueURL: "https://sqs.amazonaws.com/123456789012/jobs"},
			env: map[string]string{"AWS_DEFAULT_REGION": "sa-east-1"},
			url: "https://sqs.sa-east-1.amazonaws.com", region: "sa-east-1", aws: true, source: FromQueueURL, regional: true},
		{name: "explicit region wins", opts: Options{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs", Region: "eu-west-2"},
			url: "https://sqs.eu-west-2.amazonaws.com", region: "eu-west-2", aws: true, source: FromQueueURL, regional: true},
		{name: "explicit endpoint wins over the queue URL", opts: Options{QueueURL: "https://sqs.eu-west-1.amazonaws.com/1/q", Endpoint: "http://127.0.0.1:5000"},
			url: "http://127.0.0.1:5000", region: "eu-west-1", source: FromOption},
		{name: "explicit endpoint wins over the environment", opts: Options{Endpoint: "http://127.0.0.1:5000/"},
			env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:6000", "AWS_ENDPOINT_URL": "http://127.0.0.1:7000"},
			url: "http://127.0.0.1:5000", source: FromOption},
		{name: "explicit aws endpoint", opts: Options{Endpoint: "https://sqs.ap-south-1.amazonaws.com"},
			url: "https://sqs.ap-south-1.amazonaws.com", region: "ap-south-1", aws: true, source: FromOption},
		{name: "AWS_ENDPOINT_URL_SQS over the queue URL", opts: Options{QueueURL: "http://127.0.0.1:9324/000000000000/jobs"},
			env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:6000", "AWS_ENDPOINT_URL": "http://127.0.0.1:7000"},
			url: "http://127.0.0.1:6000", source: FromEnvSQS},
		{name: "AWS_ENDPOINT_URL_SQS with an aws queue URL", opts: Options{QueueURL: "https://sqs.eu-west-1.amazonaws.com/1/q"},
			env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:6000"},
			url: "http://127.0.0.1:6000", region: "eu-west-1", source: FromEnvSQS},
		{name: "AWS_ENDPOINT_URL", opts: Options{QueueURL: "http://127.0.0.1:9324/000000000000/jobs"},
			env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:7000"},
			url: "http://127.0.0.1:7000", source: FromEnv},
		{name: "AWS_ENDPOINT_URL_SQS without a queue URL", env: map[string]string{"AWS_ENDPOINT_URL_SQS": "https://sqs.us-east-1.amazonaws.com"},
			url: "https://sqs.us-east-1.amazonaws.com", region: "us-east-1", aws: true, source: FromEnvSQS},
		{name: "configured endpoints ignored", opts: Options{QueueURL: "http://127.0.0.1:9324/000000000000/jobs"},
			env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:6000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
			url: "http://127.0.0.1:9324", source: FromQueueURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := resolve(t.Context(), tc.opts, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if e.URL != tc.url || e.Region != tc.region || e.AWS != tc.aws || e.Source != tc.source || e.regional != tc.regional {
				t.Errorf("got %s region %q aws %v regional %v, want %s region %q aws %v (%s) regional %v",
					e, e.Region, e.AWS, e.regional, tc.url, tc.region, tc.aws, tc.source, tc.regional)
			}
		})
	}
}

func TestResolveRejects(t *testing.T) {
	t.Parallel()
	for _, opts := range []Options{
		{QueueURL: "jobs"},
		{QueueURL: "ftp://host/1/q"},
		{QueueURL: "http:///1/q"},
		{Endpoint: "localhost:9324"},
		{Endpoint: "127.0.0.1"},
		{Region: "eu west 1"},
		{Region: "eu-west-1.evil.example/"},
	} {
		if e, err := resolve(t.Context(), opts, func(string) string { return "" }); err == nil {
			t.Errorf("%+v resolved to %s, want an error", opts, e)
		}
	}
	if e, err := resolve(t.Context(), Options{}, func(k string) string {
		return map[string]string{"AWS_ENDPOINT_URL_SQS": "not a url"}[k]
	}); err == nil {
		t.Errorf("a bad AWS_ENDPOINT_URL_SQS resolved to %s", e)
	}
}

func TestIsAWSHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"sqs.us-east-1.amazonaws.com":              true,
		"SQS.US-EAST-1.AMAZONAWS.COM.":             true,
		"sqs.cn-northwest-1.amazonaws.com.cn":      true,
		"sqs.us-gov-east-1.amazonaws.com":          true,
		"sqs-fips.us-gov-west-1.amazonaws.com":     true,
		"sqs.eu-central-1.api.aws":                 true,
		"sqs.eusc-de-east-1.amazonaws.eu":          true,
		"sqs.us-isob-east-1.sc2s.sgov.gov":         true,
		"sqs.eu-isoe-west-1.cloud.adc-e.uk":        true,
		"sqs.us-isof-south-1.csp.hci.ic.gov":       true,
		"amazonaws.com":                            false,
		"amazonaws.com.evil.example":               false,
		"notamazonaws.com":                         false,
		"localhost":                                false,
		"127.0.0.1":                                false,
		"sqs.us-east-1.localhost.localstack.cloud": false,
		"": false,
	} {
		if got := IsAWSHost(host); got != want {
			t.Errorf("IsAWSHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for u, want := range map[string]bool{
		"http://127.0.0.1:9324":               true,
		"http://127.8.9.10:1":                 true,
		"http://[::1]:9324":                   true,
		"http://LOCALHOST:9324":               true,
		"http://10.0.0.1:9324":                false,
		"https://sqs.us-east-1.amazonaws.com": false,
		"":                                    false,
		"127.0.0.1:9324":                      false,
	} {
		if got := IsLoopback(u); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestRegionFromHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"sqs.eu-west-1.amazonaws.com":               "eu-west-1",
		"sqs-fips.us-gov-west-1.amazonaws.com":      "us-gov-west-1",
		"sqs.cn-north-1.amazonaws.com.cn":           "cn-north-1",
		"ap-northeast-1.queue.amazonaws.com":        "ap-northeast-1",
		"queue.amazonaws.com":                       "us-east-1",
		"vpce-1-a.sqs.eu-west-3.vpce.amazonaws.com": "eu-west-3",
		"sqs.amazonaws.com":                         "",
		"ec2.eu-west-1.amazonaws.com":               "eu-west-1",
		"sqs.eu-west-1.example.com":                 "",
		"127.0.0.1":                                 "",
		"localhost":                                 "",
	} {
		if got := RegionFromHost(host); got != want {
			t.Errorf("RegionFromHost(%q) = %q, want %q", host, got, want)
		}
	}
}
