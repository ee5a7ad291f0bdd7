/* gcabi: a C extension built against the *stock* headers of a release and
 * loaded into the patched interpreter.  Its container type goes through the
 * whole GC ABI: PyObject_GC_New/Track/UnTrack/Del, tp_traverse, tp_clear. */
#include "Python.h"
#include "structmember.h"

typedef struct {
    PyObject_HEAD
    PyObject *ref;
} NodeObject;

static long freed = 0;

static int
node_traverse(NodeObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->ref);
    return 0;
}

static int
node_clear(NodeObject *self)
{
    Py_CLEAR(self->ref);
    return 0;
}

static void
node_dealloc(NodeObject *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->ref);
    freed++;
    PyObject_GC_Del(self);
}

static PyObject *
node_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    NodeObject *self = PyObject_GC_New(NodeObject, type);
    if (self == NULL)
        return NULL;
    self->ref = NULL;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyMemberDef node_members[] = {
    {"ref", T_OBJECT, offsetof(NodeObject, ref), 0, "any object"},
    {NULL}
};

static PyTypeObject NodeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    "gcabi.Node",                       /* tp_name */
    sizeof(NodeObject),                 /* tp_basicsize */
};

static PyObject *
get_freed(PyObject *self, PyObject *noargs)
{
    return PyLong_FromLong(freed);
}

static PyMethodDef gcabi_methods[] = {
    {"freed", get_freed, METH_NOARGS, "number of Node objects freed so far"},
    {NULL}
};

static int
setup_type(void)
{
    NodeType.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
    NodeType.tp_dealloc = (destructor)node_dealloc;
    NodeType.tp_traverse = (traverseproc)node_traverse;
    NodeType.tp_clear = (inquiry)node_clear;
    NodeType.tp_members = node_members;
    NodeType.tp_new = node_new;
    return PyType_Ready(&NodeType);
}

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef gcabi_module = {
    PyModuleDef_HEAD_INIT, "gcabi", NULL, -1, gcabi_methods
};

PyMODINIT_FUNC
PyInit_gcabi(void)
{
    PyObject *m;
    if (setup_type() < 0)
        return NULL;
    m = PyModule_Create(&gcabi_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&NodeType);
    PyModule_AddObject(m, "Node", (PyObject *)&NodeType);
    return m;
}
#else
PyMODINIT_FUNC
initgcabi(void)
{
    PyObject *m;
    if (setup_type() < 0)
        return;
    m = Py_InitModule("gcabi", gcabi_methods);
    if (m == NULL)
        return;
    Py_INCREF(&NodeType);
    PyModule_AddObject(m, "Node", (PyObject *)&NodeType);
}
#endif
