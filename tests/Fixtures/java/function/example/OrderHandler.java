package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

/** A RequestHandler with POJOs both ways: handler "example.OrderHandler". */
public class OrderHandler implements RequestHandler<Order, Receipt> {
    @Override
    public Receipt handleRequest(Order order, Context context) {
        context.getLogger().log("java order " + order.getOrderId() + "\n");
        int items = order.getItems() == null ? 0 : order.getItems().size();
        return new Receipt(order.getOrderId(), order.getQuantity() * 10, items);
    }
}
