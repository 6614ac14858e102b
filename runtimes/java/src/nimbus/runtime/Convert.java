package nimbus.runtime;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Turns parsed JSON (maps, lists, strings, numbers) into a handler's declared input type. */
final class Convert {
    private Convert() {
    }

    static Object to(Object value, Type type) throws ReflectiveOperationException {
        Class<?> raw = rawClass(type);
        if (value == null) {
            return raw.isPrimitive() ? to(0L, raw) : null;
        }
        if (raw == Object.class || raw.isInstance(value) && !(value instanceof Map && type instanceof ParameterizedType) && !(value instanceof List && type instanceof ParameterizedType)) {
            return value;
        }
        if (raw == String.class) {
            return value instanceof String ? value : Json.write(value);
        }
        if (value instanceof Number) {
            Number n = (Number) value;
            if (raw == int.class || raw == Integer.class) return n.intValue();
            if (raw == long.class || raw == Long.class) return n.longValue();
            if (raw == double.class || raw == Double.class) return n.doubleValue();
            if (raw == float.class || raw == Float.class) return n.floatValue();
            if (raw == short.class || raw == Short.class) return n.shortValue();
            if (raw == byte.class || raw == Byte.class) return n.byteValue();
        }
        if ((raw == boolean.class || raw == Boolean.class) && value instanceof Boolean) {
            return value;
        }
        if (raw.isEnum() && value instanceof String) {
            for (Object constant : raw.getEnumConstants()) {
                if (((Enum<?>) constant).name().equals(value)) {
                    return constant;
                }
            }
        }
        if (Map.class.isAssignableFrom(raw) && value instanceof Map) {
            Type valueType = type instanceof ParameterizedType ? ((ParameterizedType) type).getActualTypeArguments()[1] : Object.class;
            Map<Object, Object> map = new LinkedHashMap<>();
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                map.put(entry.getKey(), to(entry.getValue(), valueType));
            }
            return map;
        }
        if (Collection.class.isAssignableFrom(raw) && value instanceof List) {
            Type itemType = type instanceof ParameterizedType ? ((ParameterizedType) type).getActualTypeArguments()[0] : Object.class;
            List<Object> list = new ArrayList<>();
            for (Object item : (List<?>) value) {
                list.add(to(item, itemType));
            }
            return list;
        }
        if (value instanceof Map && !raw.isPrimitive() && !raw.isInterface()) {
            return bean((Map<?, ?>) value, raw);
        }
        throw new IllegalArgumentException("Cannot convert " + Json.write(value) + " to " + type.getTypeName());
    }

    private static Object bean(Map<?, ?> values, Class<?> type) throws ReflectiveOperationException {
        Object bean = type.getDeclaredConstructor().newInstance();
        for (Map.Entry<?, ?> entry : values.entrySet()) {
            String key = String.valueOf(entry.getKey());
            Method setter = null;
            for (Method m : type.getMethods()) {
                if (m.getParameterCount() == 1 && m.getName().length() > 3 && m.getName().startsWith("set")
                        && m.getName().substring(3).equalsIgnoreCase(key)) {
                    setter = m;
                    break;
                }
            }
            if (setter != null) {
                setter.invoke(bean, to(entry.getValue(), setter.getGenericParameterTypes()[0]));
                continue;
            }
            for (Field f : type.getFields()) {
                if (!Modifier.isStatic(f.getModifiers()) && f.getName().equalsIgnoreCase(key)) {
                    f.set(bean, to(entry.getValue(), f.getGenericType()));
                    break;
                }
            }
        }
        return bean;
    }

    static Class<?> rawClass(Type type) {
        if (type instanceof Class) {
            return (Class<?>) type;
        }
        if (type instanceof ParameterizedType) {
            return (Class<?>) ((ParameterizedType) type).getRawType();
        }
        return Object.class;
    }
}
