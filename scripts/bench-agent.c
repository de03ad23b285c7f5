/* bench-agent.c - the agent's own time per step (`make bench-agent`): a
 * 200-turn run of the real loop against a scripted OpenAI-compatible server
 * on loopback (tests/script_server.h) with real tools on a fixture
 * repository, streaming on, the trajectory written, context management on.
 * The loop records for every step its wall time, the time spent waiting for
 * the model (the HTTP transfer, less the time its callbacks spent parsing)
 * and in tools; the overhead is what remains: building the request,
 * parsing the stream and the calls, validating arguments, observations,
 * context management, events, the trajectory.  A measurement, not a test;
 * figures go to docs/PERFORMANCE.md.
 *
 * Context management is on with a 32k-token budget (a local model's
 * window), so old observations get elided during the run as they would.
 * ROUNDS runs of the whole trajectory, each in a fresh session; the
 * figures are over every step of every round, and per round.
 *
 * usage: bench-agent [TURNS [ROUNDS [KEEP]]] (default 200 turns, 5 rounds;
 * with KEEP the last round's trajectory is copied there) */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "tests/script_server.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void sh(const char *fmt, const char *arg)
{
	pl_buf c = PL_BUF_INIT;
	int st;

	pl_buf_printf(&c, fmt, arg, arg);
	st = system(c.ptr);
	if (st != 0) {
		fprintf(stderr, "bench-agent: failed: %s\n", c.ptr);
		exit(1);
	}
	pl_buf_release(&c);
}

/* The scripted turns: views, searches and finds in turn, each answer
 * streamed with some thought before the call, then submit.  No prompt
 * count in the usage: context management estimates from the bytes, as it
 * would from a server's true counts (a scripted count would not shrink
 * after an elision). */
static void script(ss_server *srv, int turns)
{
	for (int t = 0; t < turns; t++) {
		char args[256], text[256];
		ss_call c;

		snprintf(text, sizeof(text), "Step %d: I will look at the next part of the code to understand where the "
					     "value is computed, then decide.", t + 1);
		if (t == turns - 1) {
			c.name = "submit";
			snprintf(args, sizeof(args), "{}");
		} else if (t % 4 == 1) {
			c.name = "search";
			snprintf(args, sizeof(args), "{\"pattern\": \"def f%d_[0-9]+\", \"max_results\": 20}", t % 40 + 1);
		} else if (t % 4 == 3) {
			c.name = "find";
			snprintf(args, sizeof(args), "{\"pattern\": \"mod%d*.py\"}", t % 4 + 1);
		} else {
			c.name = "view";
			snprintf(args, sizeof(args), "{\"path\": \"mod%d.py\", \"view_range\": [%d, %d]}", t % 40 + 1,
				 1 + t % 30, 60 + t % 30);
		}
		c.args = args;
		ss_push(srv, ss_openai_stream(text, &c, 1, NULL, 0, 60));
	}
}

static void fail(const char *what, const pl_err *err)
{
	fprintf(stderr, "bench-agent: %s: %s\n", what, err->msg);
	exit(1);
}

static void stats(const char *label, double *v, size_t n)
{
	double sum = 0;
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	for (i = 0; i < n; i++)
		sum += v[i];
	printf("%s mean %.3f  median %.3f  p90 %.3f  p99 %.3f  max %.3f\n", label, sum / (double)n, v[n / 2],
	       v[n * 9 / 10], v[n * 99 / 100], v[n - 1]);
}

int main(int argc, char **argv)
{
	int turns = argc > 1 ? atoi(argv[1]) : 200, rounds = argc > 2 ? atoi(argv[2]) : 5;
	pl_buf root = PL_BUF_INIT, repo = PL_BUF_INIT, traj = PL_BUF_INIT, url = PL_BUF_INIT;
	agent_settings *s = NULL;
	pl_err err = { 0 };
	ss_server srv;
	double *all, *one;
	size_t n_all = 0;
	pl_sysinfo si;

	if (turns < 2)
		turns = 2;
	if (rounds < 1)
		rounds = 1;
	all = calloc((size_t)(turns * rounds), sizeof(*all));
	one = calloc((size_t)turns, sizeof(*one));
	if (pl_mkdtemp(&root, "plait-bench-agent", &err) < 0)
		fail("temporary directory", &err);
	pl_path_join(&repo, root.ptr, "repo");
	/* 40 Python files of 120 lines, committed */
	sh("set -e; mkdir -p '%s' && cd '%s' && for i in $(seq 1 40); do "
	   "for j in $(seq 1 40); do printf 'def f%%d_%%d(x):\\n    y = x * %%d + 1\\n    return y - %%d\\n' $i $j $j $i; done "
	   "> mod$i.py; done && export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b "
	   "GIT_CONFIG_NOSYSTEM=1 && git init -q && git add -A && git commit -qm init",
	   repo.ptr);
	if (!ss_start(&srv)) {
		fprintf(stderr, "bench-agent: cannot listen on loopback\n");
		return 1;
	}
	pl_buf_printf(&url, "http://127.0.0.1:%d", srv.port);
	pl_path_join(&traj, root.ptr, "bench.jsonl");
	if (agent_settings_load(&s, NULL, &err) < 0 || agent_settings_set(s, "backend.name", "openai", "bench", &err) < 0 ||
	    agent_settings_set(s, "backend.api_base", url.ptr, "bench", &err) < 0 ||
	    agent_settings_set(s, "backend.api_model", "scripted", "bench", &err) < 0 ||
	    agent_settings_set(s, "limits.max_steps", "100000", "bench", &err) < 0 ||
	    agent_settings_set(s, "limits.max_format_errors", "100000", "bench", &err) < 0 ||
	    agent_settings_set(s, "context.budget", "32768", "bench", &err) < 0 || agent_settings_check(s, &err) < 0)
		fail("settings", &err);
	pl_sysinfo_read(&si, NULL);
	printf("machine: %s, %d cores online, %s\n", si.cpu_model, si.cores_online, si.kernel);
	for (int round = 0; round < rounds; round++) {
		agent_session *sess = NULL;
		agent_session_opts so = { 0 };
		agent_result res;
		json_t *recs = NULL, *r;
		double t0, wall, wait = 0, tools = 0;
		size_t i, n = 0;
		int elided = 0;

		script(&srv, turns);
		so.repo = repo.ptr;
		so.kind = "fix";
		so.traj_path = traj.ptr;
		if (agent_session_new(&sess, s, &so, &err) < 0)
			fail("session", &err);
		agent_result_init(&res);
		t0 = pl_now();
		if (agent_session_run(&res, sess, "f3_7 returns the wrong value for negative x", &err) < 0)
			fail("run", &err);
		wall = pl_now() - t0;
		if (res.exit != AGENT_EXIT_SUBMITTED) {
			fprintf(stderr, "bench-agent: the run ended with %s: %s\n", agent_exit_name(res.exit), res.message.ptr);
			return 1;
		}
		agent_session_free(sess);
		agent_result_release(&res);
		if (agent_traj_load(&recs, NULL, NULL, traj.ptr, &err) < 0)
			fail("trajectory", &err);
		json_array_foreach(recs, i, r) {
			const char *t = json_string_value(json_object_get(r, "type"));

			if (!strcmp(t, "model_call")) {
				one[n++] = json_number_value(json_object_get(r, "overhead_ms"));
				all[n_all++] = one[n - 1];
				wait += json_number_value(json_object_get(r, "wait_s"));
				tools += json_number_value(json_object_get(r, "tools_s"));
			} else if (!strcmp(t, "elide")) {
				elided += (int)json_array_size(json_object_get(r, "messages"));
			}
		}
		printf("round %d: %zu steps, %.2f s wall (%.2f s waiting for the model, %.2f s in tools), %d observations "
		       "elided, %zu trajectory records\n",
		       round + 1, n, wall, wait, tools, elided, json_array_size(recs));
		stats("  overhead per step (ms):", one, n);
		json_decref(recs);
		if (round == rounds - 1 && argc > 3) {
			pl_buf t = PL_BUF_INIT;

			if (pl_file_read(&t, traj.ptr, 0, &err) < 0 || pl_file_write_atomic(argv[3], t.ptr, t.len, 0644, &err) < 0)
				fail("keeping the trajectory", &err);
			pl_buf_release(&t);
		}
	}
	stats("all rounds, overhead per step (ms):", all, n_all);
	free(all);
	free(one);
	agent_settings_free(s);
	ss_stop(&srv);
	pl_rm_rf(root.ptr, NULL);
	pl_buf_release(&root);
	pl_buf_release(&repo);
	pl_buf_release(&traj);
	pl_buf_release(&url);
	return 0;
}
