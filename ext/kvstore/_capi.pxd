# Declarations every compiled module of kvstore cimports: the parts of the CPython C API
# they use that Cython's bundled cpython/*.pxd do not declare (or declare less
# precisely), and the buffers of the msgpack / JSON writers and the msgpack reader.

from cpython.object cimport PyObject
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef extern from "Python.h":
    # str internals (PEP 393): ASCII strings are read in place, no encoding step.
    bint PyUnicode_IS_ASCII(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    int PyUnicode_KIND(object s)
    void* PyUnicode_DATA(object s)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index)
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)
    object PyUnicode_DecodeASCII(const char* s, Py_ssize_t size, const char* errors)
    object PyUnicode_AsEncodedString(object s, const char* encoding, const char* errors)

    object PyBytes_FromStringAndSize(const char* s, Py_ssize_t size)
    char* PyBytes_AS_STRING(object b)
    Py_ssize_t PyBytes_GET_SIZE(object b)

    bint PyDict_Next(object d, Py_ssize_t* pos, PyObject** key, PyObject** value)
    Py_ssize_t PyDict_GET_SIZE(object d)
    int PyDict_SetItem(object d, object key, object value) except -1
    PyObject* PyDict_SetDefault(object d, object key, object default) except NULL   # borrowed
    object PyList_New(Py_ssize_t size)
    void PyList_SET_ITEM(object lst, Py_ssize_t i, object item)  # steals a reference
    Py_ssize_t PyList_GET_SIZE(object lst)
    PyObject* PyList_GET_ITEM(object lst, Py_ssize_t i)
    int PySet_Add(object s, object key) except -1
    Py_ssize_t PySet_GET_SIZE(object s)

    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1
    unsigned long long PyLong_AsUnsignedLongLong(object o) except? -1
    double PyFloat_AS_DOUBLE(object o)

    void* PyMem_Malloc(size_t n)
    void* PyMem_Realloc(void* p, size_t n)
    void PyMem_Free(void* p)


cdef extern from *:
    """
    /* A new reference to the interned twin of a str (msgpack interns map keys too). */
    static inline PyObject* kvstore_intern(PyObject* s) {
        Py_INCREF(s);
        PyUnicode_InternInPlace(&s);
        return s;
    }
    """
    object kvstore_intern(object s)


cdef extern from *:
    """
    /* PyDict_GetItem's answer (a borrowed reference, or NULL when absent, the lookup's error -- an
       unhashable key -- cleared) without its save and restore of the pending exception, which on
       CPython 3.11 are most of a short lookup's cost.  No compiled module looks a dict up while an
       exception is pending (Cython saves it before a finally clause runs). */
    static inline PyObject* kvstore_dict_get(PyObject* d, PyObject* key) {
        PyObject* value = PyDict_GetItemWithError(d, key);
        if (value == NULL && PyErr_Occurred())
            PyErr_Clear();
        return value;
    }
    """
    PyObject* kvstore_dict_get(object d, object key)


cdef extern from *:
    """
    /* ``type.__dict__.get(name)`` of the type itself (not its bases), a borrowed reference or NULL:
       whether a class defines a method, without the MRO walk of an attribute read. */
    static inline PyObject* kvstore_type_dict_get(PyObject* type, PyObject* name) {
        PyObject* d = ((PyTypeObject*)type)->tp_dict;
        return d == NULL ? NULL : kvstore_dict_get(d, name);
    }
    """
    PyObject* kvstore_type_dict_get(object type, object name)


cdef extern from "Python.h":
    # A new reference to ``obj.__dict__`` (made from the instance's inline values on first use),
    # found without the type lookup that ``obj.__dict__`` (a descriptor of the type) costs.
    object PyObject_GenericGetDict(object obj, void* context)


cdef inline object kvstore_field(object fields, object obj, object name):
    """``getattr(obj, name)`` for an attribute ``obj`` keeps in ``fields``, its instance dict.

    Reading the dict skips what a Python attribute read does first: look the name up
    on the type's MRO, for a data descriptor.  CPython 3.11 caches that lookup in a
    4,096-entry table indexed by the type's version tag and the name's address, so
    in some processes two hot names share a slot and miss on every call, each miss a
    walk of the MRO (nine classes for SortedList, whose ABCs make it deep): seen with
    gdb in 3 of 14 processes of bench.indexes' put_plain, and on every call under
    callgrind (bench/results/write_path.md, session 11).  An attribute the dict lacks
    (a property, a slot) is read with getattr."""
    cdef PyObject* p = kvstore_dict_get(fields, name)
    if p != NULL:
        return <object>p
    return getattr(obj, name)


cdef extern from *:
    """
    /* A new instance of a __slots__ class whose one slot ``descr`` gets ``value``,
       without running __init__ (what object.__new__ + setattr do, minus the lookups). */
    static inline PyObject* kvstore_new_with_slot(PyObject* type, PyObject* descr, PyObject* value) {
        PyTypeObject* tp = (PyTypeObject*)type;
        PyObject* obj = tp->tp_alloc(tp, 0);
        if (obj == NULL)
            return NULL;
        if (Py_TYPE(descr)->tp_descr_set(descr, obj, value) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
        return obj;
    }
    """
    object kvstore_new_with_slot(object type, object descr, object value)


cdef extern from *:
    """
    #include "structmember.h"
    /* Whether ``descr`` is the member descriptor of an object slot (``__slots__``) that ``cls`` itself
       defines: then every instance of exactly ``cls`` holds that slot at the descriptor's offset. */
    static inline int kvstore_is_slot_of(PyObject* descr, PyObject* cls) {
        return descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)
            && ((PyMemberDescrObject*)descr)->d_member->type == T_OBJECT_EX
            && (PyObject*)PyDescr_TYPE(descr) == cls;
    }
    /* The slot ``descr`` (kvstore_is_slot_of its class) of ``obj``, an instance of exactly that class:
       a borrowed reference, NULL while the slot is unset (where getattr raises AttributeError). */
    static inline PyObject* kvstore_slot_get(PyObject* obj, PyObject* descr) {
        return *(PyObject**)((char*)obj + ((PyMemberDescrObject*)descr)->d_member->offset);
    }
    """
    bint kvstore_is_slot_of(object descr, object cls)
    PyObject* kvstore_slot_get(object obj, object descr)


cdef inline object kvstore_slot(object obj, object cls, object descr, object name):
    """``getattr(obj, name)`` read from its slot when ``obj``'s class is exactly ``cls`` and ``descr``
    is the slot's descriptor there (else, or for an unset slot, getattr itself): no lookup of the name
    on the type, no descriptor call."""
    cdef PyObject* p
    if descr is not None and type(obj) is cls:
        p = kvstore_slot_get(obj, descr)
        if p != NULL:
            return <object>p
    return getattr(obj, name)


cdef inline object kvstore_slot_descriptor(object cls, object name):
    """The descriptor of ``cls``'s own object slot ``name`` for :func:`kvstore_slot`, or None (then
    every read is getattr's)."""
    descr = cls.__dict__.get(name) if isinstance(cls, type) else None
    return descr if kvstore_is_slot_of(descr, cls) else None


cdef extern from *:
    """
    /* ``descr.__set__(obj, value)`` of a slot's member descriptor, without the call. */
    static inline int kvstore_set_slot(PyObject* descr, PyObject* obj, PyObject* value) {
        return Py_TYPE(descr)->tp_descr_set(descr, obj, value);
    }
    """
    int kvstore_set_slot(object descr, object obj, object value) except -1


cdef extern from *:
    """
    /* The item array of a list, read in place (a bisect over a list of keys). */
    static inline PyObject** kvstore_list_items(PyObject* list) {
        return ((PyListObject*)list)->ob_item;
    }

    /* Ask for the cache lines of a bytes object's head (type and size) and of its first bytes
       (``ob_sval`` starts 32 bytes in) before they are read: a bisect over keys scattered on the
       heap waits on each one otherwise. */
    static inline void kvstore_prefetch_bytes(PyObject* o) {
        __builtin_prefetch((const char*)o);
        __builtin_prefetch((const char*)o + 32);
    }

    /* list.insert(where, v) for 0 <= where <= len(list), the tail moved with one memmove
       (CPython 3.11's list insert moves it a pointer at a time).  The append grows the list
       (amortised, as insert does) and takes the new reference, which the memmove hands on. */
    static inline int kvstore_list_insert(PyObject* list, Py_ssize_t where, PyObject* v) {
        Py_ssize_t n = PyList_GET_SIZE(list);
        PyObject** items;
        if (PyList_Append(list, v) < 0)
            return -1;
        items = ((PyListObject*)list)->ob_item;
        memmove(items + where + 1, items + where, (size_t)(n - where) * sizeof(PyObject*));
        items[where] = v;
        return 0;
    }
    """
    PyObject** kvstore_list_items(object list)
    void kvstore_prefetch_bytes(PyObject* o)
    int kvstore_list_insert(object list, Py_ssize_t where, object v) except -1


# Growing output buffer of the msgpack encoder; starts on the caller's stack.
cdef struct Writer:
    unsigned char* buf
    Py_ssize_t len
    Py_ssize_t cap
    bint heap


# Cursor of the msgpack decoder over one bytes object.
cdef struct Reader:
    const unsigned char* data
    Py_ssize_t pos
    Py_ssize_t end
