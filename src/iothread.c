/* SPDX-License-Identifier: MIT */
#include "iothread.h"

struct iothread {
	GMainContext *ctx;
	GMainLoop *loop;
	GThread *thread;
};

static gpointer iothread_main(gpointer data)
{
	struct iothread *t = data;

	g_main_context_push_thread_default(t->ctx);
	g_main_loop_run(t->loop);
	g_main_context_pop_thread_default(t->ctx);
	return NULL;
}

struct iothread *iothread_start(const char *name)
{
	struct iothread *t = g_new0(struct iothread, 1);

	t->ctx = g_main_context_new();
	t->loop = g_main_loop_new(t->ctx, FALSE);
	t->thread = g_thread_new(name, iothread_main, t);
	return t;
}

static gboolean quit_cb(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

void iothread_stop(struct iothread *t)
{
	if (!t)
		return;
	iothread_call(t, quit_cb, t->loop);
	g_thread_join(t->thread);
	g_main_loop_unref(t->loop);
	g_main_context_unref(t->ctx);
	g_free(t);
}

GMainContext *iothread_context(struct iothread *t)
{
	return t->ctx;
}

void iothread_call(struct iothread *t, GSourceFunc fn, gpointer data)
{
	GSource *s = g_idle_source_new();

	g_source_set_callback(s, fn, data, NULL);
	g_source_attach(s, t->ctx);
	g_source_unref(s);
}
