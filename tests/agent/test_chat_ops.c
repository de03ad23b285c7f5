/* The loop as plait chat drives it (checkpoints and diffs on): what an
 * edit shows, /undo and /rewind, resuming a session, against a real HTTP
 * server on loopback and a real repository that a person also edits. */
#include "agent_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pl_buf root = PL_BUF_INIT;
static char *repo;
static ss_server srv;

static void setup(void)
{
	repo = at_repo(&root);
	cr_assert(ss_start(&srv), "cannot listen on loopback");
}

static void teardown(void)
{
	ss_stop(&srv);
	pl_rm_rf(root.ptr, NULL);
	pl_buf_release(&root);
	free(repo);
}

TestSuite(chat_ops, .init = setup, .fini = teardown, .timeout = 60);

static const ss_call fix_call = { "str_replace",
				  "{\"path\": \"calc.py\", \"old_str\": \"return a - b\", \"new_str\": \"return a + b\"}" };

static agent_session_opts chat_opts(at_events *ev, const char *traj)
{
	agent_session_opts o = { 0 };

	o.repo = repo;
	o.kind = "chat";
	o.traj_path = traj;
	o.on_event = at_on_event;
	o.user = ev;
	o.checkpoints = true;
	o.diffs = true;
	return o;
}

static agent_settings *chat_settings(void)
{
	const char *kv[] = { "tools.approval", "full-auto", "loop.on_no_tool_call", "finish", NULL };

	return at_settings("openai", srv.port, kv);
}

/* A chat session on repo (checkpoints and diffs on, full-auto). */
static agent_session *open_chat(agent_settings **s_out, at_events *ev, const char *traj)
{
	agent_session *sess = NULL;
	agent_session_opts o = chat_opts(ev, traj);
	pl_err err = { 0 };

	*s_out = chat_settings();
	ev->list = json_array();
	pl_buf_init(&ev->text, 0);
	cr_assert_eq(agent_session_new(&sess, *s_out, &o, &err), 0, "%s", err.msg);
	return sess;
}

/* The same session again, from its trajectory. */
static agent_session *resume_chat(agent_settings *s, at_events *ev, const char *traj)
{
	agent_session *sess = NULL;
	agent_session_opts o = chat_opts(ev, NULL);
	pl_err err = { 0 };

	ev->list = json_array();
	pl_buf_init(&ev->text, 0);
	cr_assert_eq(agent_session_resume(&sess, s, &o, traj, &err), 0, "%s", err.msg);
	return sess;
}

static char *path_in_root(const char *name)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, root.ptr, name);
	return pl_buf_detach(&p, NULL);
}

static void append_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void turn(agent_session *sess, const char *text)
{
	agent_result res;
	pl_err err = { 0 };

	agent_result_init(&res);
	cr_assert_eq(agent_session_run(&res, sess, text, &err), 0, "%s", err.msg);
	cr_assert_eq(res.exit, AGENT_EXIT_ANSWERED, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	agent_result_release(&res);
}

static PL_UNUSED char *read_rel(const char *rel)
{
	pl_buf p = PL_BUF_INIT, b = PL_BUF_INIT;

	pl_path_join(&p, repo, rel);
	if (pl_file_read(&b, p.ptr, 0, NULL) < 0) {
		pl_buf_release(&p);
		pl_buf_release(&b);
		return NULL;
	}
	pl_buf_release(&p);
	return pl_buf_detach(&b, NULL);
}

static PL_UNUSED void write_rel(const char *rel, const char *text)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, repo, rel);
	cr_assert_eq(pl_file_write_atomic(p.ptr, text, strlen(text), 0644, NULL), 0);
	pl_buf_release(&p);
}

/* Watches a FIFO: if anything opens it for reading, it is let go (a
 * writer opens and closes it) and counted. */
typedef struct fifo_watch {
	const char *path;
	atomic_int done;
	atomic_int opened;
} fifo_watch;

static void *watch_fifo(void *arg)
{
	fifo_watch *w = arg;
	struct timespec ts = { 0, 10000000L };

	while (!atomic_load(&w->done)) {
		int fd = open(w->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

		if (fd >= 0) {
			atomic_store(&w->opened, 1);
			close(fd);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The diff of an edit comes from the tool: nothing is read for it before
 * the tool has checked the path (a FIFO, a device, a file outside). */
Test(chat_ops, an_edit_shows_its_diff_and_reads_nothing_itself)
{
	pl_buf fifo = PL_BUF_INIT, args = PL_BUF_INIT;
	fifo_watch w = { 0 };
	pthread_t th;
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess;
	json_t *ends;
	ss_call bad;

	pl_path_join(&fifo, root.ptr, "fifo");
	cr_assert_eq(mkfifo(fifo.ptr, 0600), 0);
	pl_buf_printf(&args, "{\"path\": \"%s\", \"file_text\": \"x\\n\", \"overwrite\": true}", fifo.ptr);
	bad.name = "create";
	bad.args = args.ptr;
	w.path = fifo.ptr;
	pthread_create(&th, NULL, watch_fifo, &w);
	sess = open_chat(&s, &ev, NULL);
	ss_push(&srv, ss_openai(NULL, &bad, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &fix_call, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai("Done.", NULL, 0, NULL, 1, 1));
	turn(sess, "fix add");
	atomic_store(&w.done, 1);
	pthread_join(th, NULL);
	cr_assert_eq(atomic_load(&w.opened), 0, "the FIFO outside the repository was opened");
	ends = at_of_type(&ev, "tool_end");
	cr_assert_eq(json_array_size(ends), 2);
	cr_assert_not(json_is_true(json_object_get(json_array_get(ends, 0), "ok")));
	cr_assert_null(json_object_get(json_array_get(ends, 0), "diff"));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ends, 1), "diff")),
			 "--- a/calc.py\n+++ b/calc.py\n@@ -1,5 +1,5 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
			 " \n \n def mul(a, b):\n");
	json_decref(ends);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
	pl_buf_release(&fifo);
	pl_buf_release(&args);
}

/* A session whose last line a killed plait left cut: resuming it cuts
 * the line off before appending, so the file stays readable for good. */
Test(chat_ops, a_cut_last_line_does_not_spoil_a_resumed_session)
{
	char *t = path_in_root("s.jsonl");
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess;
	json_t *recs = NULL, *skipped = NULL, *turns;
	pl_err err = { 0 };

	sess = open_chat(&s, &ev, t);
	ss_push(&srv, ss_openai("Hi.", NULL, 0, NULL, 1, 1));
	turn(sess, "hello");
	agent_session_free(sess);
	at_events_release(&ev);
	append_text(t, "{\"type\":\"message\",\"ind");
	sess = resume_chat(s, &ev, t);
	ss_push(&srv, ss_openai("Again.", NULL, 0, NULL, 1, 1));
	turn(sess, "again");
	agent_session_free(sess);
	at_events_release(&ev);
	cr_assert_eq(agent_traj_load(&recs, NULL, &skipped, t, &err), 0, "%s", err.msg);
	cr_assert_eq(json_array_size(skipped), 0, "%zu lines skipped", json_array_size(skipped));
	json_decref(recs);
	json_decref(skipped);
	sess = resume_chat(s, &ev, t);
	turns = agent_session_turns(sess);
	cr_assert_eq(json_array_size(turns), 2);
	json_decref(turns);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
	free(t);
}

/* A line that cannot be read (hand-edited, a disk error) is skipped and
 * said, not the end of the whole file; a file that cannot be read at all
 * is listed among the sessions with its error. */
Test(chat_ops, unreadable_lines_are_skipped_and_said)
{
	char *t = path_in_root("sessions/a.jsonl"), *bad = path_in_root("sessions/b.jsonl"), *dir = path_in_root("sessions");
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess;
	json_t *recs = NULL, *skipped = NULL, *list = NULL, *x;
	pl_err err = { 0 };
	size_t i;
	bool saw_bad = false, saw_good = false;

	sess = open_chat(&s, &ev, t);
	ss_push(&srv, ss_openai("Hi.", NULL, 0, NULL, 1, 1));
	turn(sess, "hello");
	agent_session_free(sess);
	at_events_release(&ev);
	append_text(t, "garbage\n{\"type\":\"resume\",\"messages\":1}\n");
	cr_assert_eq(agent_traj_load(&recs, NULL, &skipped, t, &err), 0, "%s", err.msg);
	cr_assert_eq(json_array_size(skipped), 1);
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(skipped, 0), "error")), "line"), "%s",
		  json_string_value(json_object_get(json_array_get(skipped, 0), "error")));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, json_array_size(recs) - 1), "type")),
			 "resume");
	json_decref(recs);
	json_decref(skipped);
	cr_assert_eq(pl_file_write_atomic(bad, "not json\n", 9, 0644, NULL), 0);
	cr_assert_eq(agent_sessions_list(&list, dir, repo, &err), 0, "%s", err.msg);
	json_array_foreach(list, i, x) {
		if (json_is_string(json_object_get(x, "error"))) {
			saw_bad = true;
			cr_assert_str_eq(json_string_value(json_object_get(x, "id")), "b");
			cr_assert(strstr(json_string_value(json_object_get(x, "error")), "b.jsonl"), "%s",
				  json_string_value(json_object_get(x, "error")));
		} else {
			saw_good = true;
		}
	}
	cr_assert(saw_bad && saw_good, "%zu sessions listed", json_array_size(list));
	json_decref(list);
	agent_settings_free(s);
	free(t);
	free(bad);
	free(dir);
}

/* A session belongs to its repository: resuming it on another one (where
 * /rewind would then restore the first one's files) is refused. */
Test(chat_ops, a_session_resumes_only_on_its_repository)
{
	char *t = path_in_root("s.jsonl"), *other = path_in_root("other");
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess = NULL;
	agent_session_opts o;
	pl_err err = { 0 };

	sess = open_chat(&s, &ev, t);
	ss_push(&srv, ss_openai("Hi.", NULL, 0, NULL, 1, 1));
	turn(sess, "hello");
	agent_session_free(sess);
	sess = NULL;
	cr_assert_eq(test_sh(NULL, "git init -q '%s'", other), 0);
	o = chat_opts(&ev, NULL);
	o.repo = other;
	cr_assert_lt(agent_session_resume(&sess, s, &o, t, &err), 0);
	cr_assert_null(sess);
	cr_assert(strstr(err.msg, repo) && strstr(err.msg, other), "%s", err.msg);
	cr_assert(strstr(err.msg, "was recorded on"), "%s", err.msg);
	at_events_release(&ev);
	agent_settings_free(s);
	free(t);
	free(other);
}

/* Records a person edited by hand (a message without a role, without a
 * message at all, a role that is not a string) are left out with a
 * warning when the session is resumed; they crashed it. */
Test(chat_ops, hand_edited_records_are_left_out_on_resume)
{
	static const char *const bad[] = {
		"{\"type\": \"message\", \"index\": 1, \"turn\": 1, \"step\": 0, \"observation\": false, \"message\": {\"content\": \"hello\"}}\n",
		"{\"type\": \"message\", \"turn\": 1, \"step\": 0}\n",
		"{\"type\": \"message\", \"turn\": 1, \"step\": 0, \"message\": {\"role\": 5, \"content\": \"x\"}}\n",
		"{\"type\": \"message\", \"turn\": 1, \"step\": 1, \"message\": {\"role\": \"assistant\", \"content\": \"x\", "
		"\"tool_calls\": [{\"id\": \"c\", \"function\": {\"name\": 7}}]}}\n",
		"{\"type\": \"message\", \"turn\": 1, \"step\": 1, \"message\": {\"role\": \"tool\", \"content\": \"x\"}}\n",
		"{\"type\": \"rewind\", \"turn\": \"two\", \"messages\": 99}\n",
		"{\"type\": \"elide\", \"messages\": [{\"index\": \"x\"}]}\n",
	};
	char *t = path_in_root("s.jsonl");
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess;
	json_t *w, *turns;

	sess = open_chat(&s, &ev, t);
	ss_push(&srv, ss_openai("Hi.", NULL, 0, NULL, 1, 1));
	turn(sess, "hello");
	agent_session_free(sess);
	at_events_release(&ev);
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++)
		append_text(t, bad[i]);
	sess = resume_chat(s, &ev, t);
	w = at_of_type(&ev, "warning");
	cr_assert_eq(json_array_size(w), 1, "%zu warnings", json_array_size(w));
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(w, 0), "message")), "7 records"), "%s",
		  json_string_value(json_object_get(json_array_get(w, 0), "message")));
	turns = agent_session_turns(sess);
	cr_assert_eq(json_array_size(turns), 1);
	json_decref(turns);
	/* and the session still works */
	ss_push(&srv, ss_openai("Still here.", NULL, 0, NULL, 1, 1));
	turn(sess, "again");
	json_decref(w);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
	free(t);
}

static void git_in_repo(const char *cmd)
{
	cr_assert_eq(test_sh(NULL,
			     "cd '%s' && export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t "
			     "GIT_COMMITTER_EMAIL=t@t GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent && %s",
			     repo, cmd),
		     0, "%s", cmd);
}

static char *head_of_repo(void)
{
	pl_buf o = PL_BUF_INIT;

	cr_assert_eq(test_sh(&o, "git -C '%s' rev-parse HEAD", repo), 0);
	pl_buf_rtrim(&o);
	return pl_buf_detach(&o, NULL);
}

static const char fixed[] = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n";
static const char broken[] = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n";

/* /undo puts back what the agent's last change changed, and only that:
 * a person's edits, new files and commits between turns stay. */
Test(chat_ops, undo_keeps_what_the_person_did)
{
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess = open_chat(&s, &ev, NULL);
	pl_buf msg = PL_BUF_INIT;
	pl_err err = { 0 };
	char *f, *head;

	ss_push(&srv, ss_openai(NULL, &fix_call, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai("Fixed.", NULL, 0, NULL, 1, 1));
	turn(sess, "fix add");
	f = read_rel("calc.py");
	cr_assert_str_eq(f, fixed);
	free(f);
	/* the person, between turns */
	write_rel("test_calc.py", "# my own test\n");
	write_rel("NOTES.md", "notes\n");
	git_in_repo("git add NOTES.md && git commit -qm notes");
	head = head_of_repo();
	cr_assert_eq(agent_session_undo(sess, &msg, &err), 0, "%s", err.msg);
	cr_assert(strstr(msg.ptr, "undid str_replace calc.py"), "%s", msg.ptr);
	f = read_rel("calc.py");
	cr_assert_str_eq(f, broken);
	free(f);
	f = read_rel("test_calc.py");
	cr_assert_str_eq(f, "# my own test\n", "the person's edit was undone");
	free(f);
	f = read_rel("NOTES.md");
	cr_assert_str_eq(f, "notes\n", "the person's new file is gone");
	free(f);
	f = head_of_repo();
	cr_assert_str_eq(f, head, "HEAD moved: the person's commit is lost");
	free(f);
	free(head);
	cr_assert_lt(agent_session_undo(sess, &msg, &err), 0);
	cr_assert(strstr(err.msg, "nothing to undo"), "%s", err.msg);
	pl_buf_release(&msg);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
}

/* A file the agent changed and a person changed again since: /undo and
 * /rewind refuse, say which file, and change nothing. */
Test(chat_ops, undo_refuses_when_the_file_changed_since)
{
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess = open_chat(&s, &ev, NULL);
	pl_buf msg = PL_BUF_INIT;
	pl_err err = { 0 };
	char *f;
	json_t *turns;

	ss_push(&srv, ss_openai(NULL, &fix_call, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai("Fixed.", NULL, 0, NULL, 1, 1));
	turn(sess, "fix add");
	write_rel("calc.py", "def add(a, b):\n    return a + b  # checked\n");
	cr_assert_eq(agent_session_undo(sess, &msg, &err), PL_EEXISTS);
	cr_assert(strstr(err.msg, "'calc.py'") && strstr(err.msg, "nothing was changed"), "%s", err.msg);
	cr_assert_lt(agent_session_rewind(sess, 1, &err), 0);
	cr_assert(strstr(err.msg, "'calc.py'"), "%s", err.msg);
	f = read_rel("calc.py");
	cr_assert_str_eq(f, "def add(a, b):\n    return a + b  # checked\n");
	free(f);
	turns = agent_session_turns(sess);
	cr_assert_eq(json_array_size(turns), 1, "a refused rewind cut the conversation");
	json_decref(turns);
	pl_buf_release(&msg);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
}

/* /rewind N undoes every change of turns N and later, files the agent
 * made included, and keeps the person's; the undo stack survives a
 * resume. */
Test(chat_ops, rewind_undoes_the_turns_changes_only)
{
	const ss_call mk = { "create", "{\"path\": \"new.py\", \"file_text\": \"x = 1\\n\"}" };
	char *t = path_in_root("s.jsonl");
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess = open_chat(&s, &ev, t);
	pl_buf msg = PL_BUF_INIT;
	pl_err err = { 0 };
	char *f;
	json_t *turns;

	ss_push(&srv, ss_openai(NULL, &fix_call, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai("Fixed.", NULL, 0, NULL, 1, 1));
	turn(sess, "fix add");
	ss_push(&srv, ss_openai(NULL, &mk, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai("Made it.", NULL, 0, NULL, 1, 1));
	turn(sess, "make new.py");
	write_rel("NOTES.md", "notes\n");
	agent_session_free(sess);
	at_events_release(&ev);

	/* the undo stack comes back with the session */
	sess = resume_chat(s, &ev, t);
	cr_assert_eq(agent_session_rewind(sess, 2, &err), 0, "%s", err.msg);
	f = read_rel("new.py");
	cr_assert_null(f, "new.py is still there");
	f = read_rel("calc.py");
	cr_assert_str_eq(f, fixed, "turn 1's change went too");
	free(f);
	cr_assert_eq(agent_session_undo(sess, &msg, &err), 0, "%s", err.msg);
	f = read_rel("calc.py");
	cr_assert_str_eq(f, broken);
	free(f);
	f = read_rel("NOTES.md");
	cr_assert_str_eq(f, "notes\n");
	free(f);
	turns = agent_session_turns(sess);
	cr_assert_eq(json_array_size(turns), 1);
	json_decref(turns);
	agent_session_free(sess);
	at_events_release(&ev);

	/* and replays as it went */
	sess = resume_chat(s, &ev, t);
	cr_assert_lt(agent_session_undo(sess, &msg, &err), 0);
	cr_assert(strstr(err.msg, "nothing to undo"), "%s", err.msg);
	pl_buf_release(&msg);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
	free(t);
}

/* A chat that died during a tool call left an assistant message whose
 * calls have no results (and here a stray result answering nothing): an
 * API refuses such a history.  On resume every unanswered call gets a
 * result saying it did not run, the stray one is dropped, and the repair
 * is recorded, so a second resume reads the same conversation. */
Test(chat_ops, a_session_that_died_in_a_tool_call_resumes_answered)
{
	static const char dead[] =
		"{\"type\": \"message\", \"index\": 3, \"turn\": 2, \"step\": 2, \"observation\": false, \"message\": "
		"{\"role\": \"user\", \"content\": \"run it\"}}\n"
		"{\"type\": \"message\", \"index\": 4, \"turn\": 2, \"step\": 2, \"observation\": false, \"message\": "
		"{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": ["
		"{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"view\", \"arguments\": \"{}\"}},"
		"{\"id\": \"c2\", \"type\": \"function\", \"function\": {\"name\": \"bash\", \"arguments\": \"{}\"}}]}}\n"
		"{\"type\": \"message\", \"index\": 5, \"turn\": 2, \"step\": 2, \"observation\": true, \"message\": "
		"{\"role\": \"tool\", \"tool_call_id\": \"c1\", \"name\": \"view\", \"content\": \"viewed\"}}\n"
		"{\"type\": \"message\", \"index\": 6, \"turn\": 2, \"step\": 2, \"observation\": true, \"message\": "
		"{\"role\": \"tool\", \"tool_call_id\": \"zz\", \"name\": \"view\", \"content\": \"stray\"}}\n";
	char *t = path_in_root("s.jsonl"), *dump;
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess;
	json_t *msgs, *m;
	size_t i, n;

	sess = open_chat(&s, &ev, t);
	ss_push(&srv, ss_openai("Hi.", NULL, 0, NULL, 1, 1));
	turn(sess, "hello");
	agent_session_free(sess);
	at_events_release(&ev);
	append_text(t, dead);
	for (int round = 0; round < 2; round++) {
		sess = resume_chat(s, &ev, t);
		ss_push(&srv, ss_openai("Fine.", NULL, 0, NULL, 1, 1));
		turn(sess, "again");
		msgs = at_messages(&srv, ss_requests(&srv) - 1);
		dump = at_text(msgs);
		n = json_array_size(msgs);
		/* system, hello, Hi., run it, the calls, c1's result, c2's, again (, Fine., again) */
		cr_assert_eq(n, round ? 10 : 8, "%s", dump);
		for (i = 0; i < n; i++)
			if (json_is_string(json_object_get(json_array_get(msgs, i), "tool_calls")) ||
			    json_array_size(json_object_get(json_array_get(msgs, i), "tool_calls")))
				break;
		cr_assert_eq(i, 4, "%s", dump);
		m = json_array_get(msgs, 5);
		cr_assert_str_eq(json_string_value(json_object_get(m, "tool_call_id")), "c1", "%s", dump);
		cr_assert_str_eq(json_string_value(json_object_get(m, "content")), "viewed", "%s", dump);
		m = json_array_get(msgs, 6);
		cr_assert_str_eq(json_string_value(json_object_get(m, "role")), "tool", "%s", dump);
		cr_assert_str_eq(json_string_value(json_object_get(m, "tool_call_id")), "c2", "%s", dump);
		cr_assert_str_eq(json_string_value(json_object_get(m, "content")),
				 "not run: the session ended before it finished", "%s", dump);
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 7), "role")), "user", "%s", dump);
		cr_assert_null(strstr(dump, "stray"), "%s", dump);
		free(dump);
		json_decref(msgs);
		agent_session_free(sess);
		at_events_release(&ev);
	}
	agent_settings_free(s);
	free(t);
}

/* Two chats on one session would interleave their records: the second
 * is refused while the first holds it, and named as such. */
Test(chat_ops, a_session_open_elsewhere_is_refused)
{
	char *t = path_in_root("s.jsonl");
	agent_settings *s;
	at_events ev, ev2;
	agent_session *sess, *other = NULL, *again;
	agent_session_opts o;
	pl_err err = { 0 };

	sess = open_chat(&s, &ev, t);
	ss_push(&srv, ss_openai("Hi.", NULL, 0, NULL, 1, 1));
	turn(sess, "hello");
	o = chat_opts(&ev2, NULL);
	ev2.list = json_array();
	pl_buf_init(&ev2.text, 0);
	cr_assert_lt(agent_session_resume(&other, s, &o, t, &err), 0, "a second chat resumed a session in use");
	cr_assert_null(other);
	cr_assert(strstr(err.msg, "is open in another plait") && strstr(err.msg, agent_session_id(sess)), "%s", err.msg);
	at_events_release(&ev2);
	agent_session_free(sess);
	at_events_release(&ev);
	/* once the first has left, it resumes */
	again = resume_chat(s, &ev, t);
	agent_session_free(again);
	at_events_release(&ev);
	agent_settings_free(s);
	free(t);
}

/* A session holds everything said and every file shown: it is the
 * person's alone, 0600 in directories made 0700 (they were 0644 and
 * 0755). */
Test(chat_ops, sessions_are_private)
{
	char *t = path_in_root("private/sessions/s.jsonl"), *d1 = path_in_root("private"),
	     *d2 = path_in_root("private/sessions");
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess;
	struct stat st;

	sess = open_chat(&s, &ev, t);
	ss_push(&srv, ss_openai("Hi.", NULL, 0, NULL, 1, 1));
	turn(sess, "hello");
	agent_session_free(sess);
	at_events_release(&ev);
	cr_assert_eq(stat(t, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "%o", st.st_mode & 0777);
	cr_assert_eq(stat(d1, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "%o", st.st_mode & 0777);
	cr_assert_eq(stat(d2, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "%o", st.st_mode & 0777);
	agent_settings_free(s);
	free(t);
	free(d1);
	free(d2);
}

/* An edit of a file git ignores (.env) is outside the snapshots, so /undo
 * cannot take it back: the person is told when it happens (it went by
 * unsaid), and /undo then names the change it does take back. */
Test(chat_ops, an_edit_of_an_ignored_file_is_said_not_undoable)
{
	static const ss_call env_edit = { "create", "{\"path\": \".env\", \"overwrite\": true, \"file_text\": \"B=2\\n\"}" };
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess;
	pl_buf msg = PL_BUF_INIT;
	pl_err err = { 0 };
	json_t *w;
	char *f;

	write_rel(".gitignore", ".env\n");
	write_rel(".env", "A=1\n");
	git_in_repo("git add .gitignore && git commit -qm ignore");
	sess = open_chat(&s, &ev, NULL);
	ss_push(&srv, ss_openai(NULL, &fix_call, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai(NULL, &env_edit, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai("Done.", NULL, 0, NULL, 1, 1));
	turn(sess, "fix add and set B");
	f = read_rel(".env");
	cr_assert_str_eq(f, "B=2\n");
	free(f);
	w = at_of_type(&ev, "warning");
	cr_assert_eq(json_array_size(w), 1, "%zu warnings", json_array_size(w));
	cr_assert(strstr(json_string_value(json_object_get(json_array_get(w, 0), "message")), ".env") &&
			  strstr(json_string_value(json_object_get(json_array_get(w, 0), "message")), "/undo"),
		  "%s", json_string_value(json_object_get(json_array_get(w, 0), "message")));
	json_decref(w);
	/* the undo takes back the str_replace, the last change it can, and says so */
	cr_assert_eq(agent_session_undo(sess, &msg, &err), 0, "%s", err.msg);
	cr_assert(strstr(msg.ptr, "undid str_replace calc.py"), "%s", msg.ptr);
	pl_buf_release(&msg);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
}

/* /undo of a command: the files git ignores are not in the snapshots, so
 * what the command did to them stays; the message says so (the .env the
 * command overwrote stayed overwritten, unsaid). */
Test(chat_ops, undoing_a_command_says_ignored_files_stay)
{
	static const ss_call clobber = { "bash", "{\"command\": \"echo clobbered > .env; echo '# x' >> calc.py\"}" };
	agent_settings *s;
	at_events ev = { 0 };
	agent_session *sess;
	pl_buf msg = PL_BUF_INIT, o = PL_BUF_INIT;
	pl_err err = { 0 };
	char *f;

	if (test_sh(&o, "'%s' sandbox run --profile agent -- true 2>&1", test_plait_bin()) != 0)
		cr_skip_test("the sandbox cannot run here: %s", o.ptr);
	write_rel(".gitignore", ".env\n");
	write_rel(".env", "A=1\n");
	git_in_repo("git add .gitignore && git commit -qm ignore");
	sess = open_chat(&s, &ev, NULL);
	ss_push(&srv, ss_openai(NULL, &clobber, 1, NULL, 1, 1));
	ss_push(&srv, ss_openai("Done.", NULL, 0, NULL, 1, 1));
	turn(sess, "go");
	cr_assert_eq(agent_session_undo(sess, &msg, &err), 0, "%s", err.msg);
	cr_assert(strstr(msg.ptr, "undid bash: echo clobbered"), "%s", msg.ptr);
	cr_assert(strstr(msg.ptr, "files git ignores"), "%s", msg.ptr);
	f = read_rel("calc.py");
	cr_assert_str_eq(f, broken);
	free(f);
	pl_buf_release(&msg);
	pl_buf_release(&o);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
}
